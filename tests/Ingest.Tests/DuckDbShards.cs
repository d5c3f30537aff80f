using System.Diagnostics;

namespace Contrastive.Ingest.Tests;

/// <summary>
/// Shards written by DuckDB (an independent Parquet writer) through tests/tools/write_duckdb_shards.mjs.
/// Installs the tools' npm packages on first use (`npm install` in tests/tools), so `dotnet test` needs no set-up step;
/// a machine without node or the npm registry fails these tests with the reason.
/// </summary>
public sealed class DuckDbShards : IDisposable
{
    private static readonly SemaphoreSlim Install = new(1, 1);

    public DuckDbShards()
    {
        string tools = Path.Combine(RepoRoot(), "tests", "tools");
        EnsureToolsInstalled(tools);
        Directory.CreateDirectory(Dir);
        Run("node", tools, "write_duckdb_shards.mjs", Dir);
    }

    /// <summary>Runs `npm install` in tests/tools (as pinned by its lock file) once per process when a tool is missing.</summary>
    internal static void EnsureToolsInstalled(string tools)
    {
        Install.Wait();
        try
        {
            if (!Directory.Exists(Path.Combine(tools, "node_modules", "@duckdb", "node-api")) || !Directory.Exists(Path.Combine(tools, "node_modules", "s3rver")))
                Run("npm", tools, "install", "--no-audit", "--no-fund");
        }
        finally
        {
            Install.Release();
        }
    }

    public string Dir { get; } = Path.Combine(Path.GetTempPath(), "duckdb-" + Guid.NewGuid().ToString("N"));

    public string File(string name) => Path.Combine(Dir, name);

    public void Dispose()
    {
        try { Directory.Delete(Dir, true); } catch (IOException) { }
    }

    private static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (System.IO.File.Exists(Path.Combine(d.FullName, "Contrastive.Pipeline.sln"))) return d.FullName;
        throw new InvalidOperationException($"repository root (Contrastive.Pipeline.sln) not found above {AppContext.BaseDirectory}");
    }

    private static void Run(string exe, string cwd, params string[] args)
    {
        var psi = new ProcessStartInfo(exe) { WorkingDirectory = cwd, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception e) { throw new InvalidOperationException($"'{exe}' is needed to write the DuckDB test shards and could not be started: {e.Message}", e); }
        using (p)
        {
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(TimeSpan.FromMinutes(5))) { p.Kill(true); throw new TimeoutException($"'{exe} {string.Join(' ', args)}' did not finish in 5 minutes"); }
            if (p.ExitCode != 0) throw new InvalidOperationException($"'{exe} {string.Join(' ', args)}' in {cwd} failed ({p.ExitCode}): {stderr.Result}{stdout.Result}");
        }
    }
}
