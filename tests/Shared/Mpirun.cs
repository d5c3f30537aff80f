using System.Diagnostics;
using System.Text;

namespace Contrastive.Tests.Shared;

/// <summary>
/// Launches real Open MPI jobs for tests (openmpi-bin, installed by test.sh): <c>mpirun -np N --oversubscribe
/// --bind-to none</c> on this machine, shared memory between ranks (<c>btl self,vader</c>) and the launcher's own
/// sockets on loopback only. Allowed to run as root (CI containers). Every run is bounded in time.
/// </summary>
internal static class Mpirun
{
    public static string Executable =>
        new[] { "/usr/bin/mpirun", "/usr/local/bin/mpirun" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("mpirun is not installed: apt-get install openmpi-bin (test.sh does)");

    /// <summary>Starts <c>mpirun -np <paramref name="ranks"/> dotnet <paramref name="dll"/> args…</c> with stdout and stderr collected.</summary>
    /// <param name="outputFolder">When set, each rank's stdout and stderr go to files under it (mpirun --output-filename:
    /// FOLDER/1/rank.N/stdout), so that ranks' lines never interleave.</param>
    public static Job Start(int ranks, string dll, IEnumerable<string> args, string? workingDirectory = null, string? outputFolder = null) =>
        Start([(ranks, dll, args)], workingDirectory, outputFolder);

    /// <summary>Several programs in one job (mpirun's "-np 1 A : -np 1 B"), ranks numbered in that order.</summary>
    public static Job Start(IReadOnlyList<(int Ranks, string Dll, IEnumerable<string> Args)> apps, string? workingDirectory = null, string? outputFolder = null)
    {
        var psi = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        psi.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";
        psi.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
        // mpirun forwards its environment to the ranks; a test host's own rank variables must not leak in.
        foreach (var name in new[] { "RANK", "WORLD_SIZE", "LOCAL_RANK" }) psi.Environment.Remove(name);
        foreach (var a in new[] { "--oversubscribe", "--bind-to", "none", "--mca", "btl", "self,vader", "--mca", "oob_tcp_if_include", "lo" }
                     .Concat(outputFolder is null ? [] : ["--output-filename", outputFolder]))
            psi.ArgumentList.Add(a);
        for (int i = 0; i < apps.Count; i++)
        {
            if (i > 0) psi.ArgumentList.Add(":");
            foreach (var a in new[] { "-np", apps[i].Ranks.ToString(System.Globalization.CultureInfo.InvariantCulture), "dotnet", apps[i].Dll }.Concat(apps[i].Args))
                psi.ArgumentList.Add(a);
        }
        return new Job(Process.Start(psi)!);
    }

    /// <summary>Runs to the end (killed after <paramref name="timeout"/>): exit code, stdout, stderr.</summary>
    public static async Task<(int Code, string Out, string Err)> Run(int ranks, string dll, IEnumerable<string> args, TimeSpan timeout, string? workingDirectory = null,
        string? outputFolder = null)
    {
        using var job = Start(ranks, dll, args, workingDirectory, outputFolder);
        return await job.WaitAsync(timeout);
    }

    /// <summary>A rank's stdout or stderr written under <c>outputFolder</c> ("stdout" or "stderr").</summary>
    public static string RankOutput(string outputFolder, int rank, string stream)
    {
        string path = Path.Combine(outputFolder, "1", $"rank.{rank}", stream);
        return File.Exists(path) ? File.ReadAllText(path) : throw new FileNotFoundException($"mpirun wrote no {stream} for rank {rank}", path);
    }

    /// <summary>The process ids of the ranks mpirun started (its children), by rank (from their OMPI_COMM_WORLD_RANK).</summary>
    public static Dictionary<int, int> RankProcesses(Process mpirun)
    {
        var ranks = new Dictionary<int, int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture) != mpirun.Id) continue;
                var rank = File.ReadAllText(Path.Combine(dir, "environ")).Split('\0').FirstOrDefault(v => v.StartsWith("OMPI_COMM_WORLD_RANK=", StringComparison.Ordinal));
                if (rank is not null) ranks[int.Parse(rank["OMPI_COMM_WORLD_RANK=".Length..], System.Globalization.CultureInfo.InvariantCulture)] = pid;
            }
            catch (IOException) { } // the process ended meanwhile
            catch (UnauthorizedAccessException) { }
        }
        return ranks;
    }

    public sealed class Job : IDisposable
    {
        private readonly StringBuilder _out = new(), _err = new();
        private readonly TaskCompletionSource _outDone = new(), _errDone = new();

        internal Job(Process process)
        {
            Process = process;
            process.OutputDataReceived += (_, e) => { if (e.Data is null) _outDone.TrySetResult(); else lock (_out) _out.AppendLine(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is null) _errDone.TrySetResult(); else lock (_err) _err.AppendLine(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public Process Process { get; }

        public string Output { get { lock (_out) return _out.ToString(); } }

        public string Error { get { lock (_err) return _err.ToString(); } }

        public async Task<(int Code, string Out, string Err)> WaitAsync(TimeSpan timeout)
        {
            try { await Process.WaitForExitAsync().WaitAsync(timeout); }
            catch (TimeoutException)
            {
                Process.Kill(entireProcessTree: true);
                throw new TimeoutException($"mpirun did not finish in {timeout.TotalSeconds:F0} s.\nstdout:\n{Output}\nstderr:\n{Error}");
            }
            await Task.WhenAll(_outDone.Task, _errDone.Task).WaitAsync(TimeSpan.FromSeconds(10));
            return (Process.ExitCode, Output, Error);
        }

        public void Dispose()
        {
            if (!Process.HasExited) Process.Kill(entireProcessTree: true);
            Process.Dispose();
        }
    }
}
