using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace Contrastive.Host.Serve;

/// <summary>
/// A finished job's exports (GET /api/jobs/ID/artifacts): its newest checkpoint's encoder as encoder.safetensors (torchvision's
/// names) and encoder.onnx, made the first time they are asked for by `contrastive export` run as child processes (the
/// service itself never loads the training library's native code), kept in the job folder's artifacts/, served by name.
/// An export that cannot be made (an ONNX graph of a series encoder) is remembered with its reason and not tried again.
/// </summary>
internal sealed class JobArtifacts(ServeState state, ILogger log)
{
    /// <summary>What a finished job offers, by file name: the export's arguments.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Exports = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["encoder.safetensors"] = ["--format", "safetensors", "--part", "encoder"],
        ["encoder.onnx"] = ["--format", "onnx", "--part", "encoder"],
    };

    private static readonly TimeSpan ExportTimeout = TimeSpan.FromMinutes(10);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);

    public string Folder(string id) => Path.Combine(state.JobFolder(id), "artifacts");

    /// <summary>
    /// The job's exports, made now where missing: [{name, bytes, url}] and the ones that cannot be made with their reasons.
    /// Null when the job has no intact checkpoint to export.
    /// </summary>
    public async Task<JsonObject?> ListAsync(JobRecord job, CancellationToken ct)
    {
        string jobFolder = state.JobFolder(job.Id);
        if (!Directory.EnumerateFiles(jobFolder, "ckpt-*.ckpt").Any()) return null;
        string folder = Folder(job.Id);
        var gate = _locks.GetOrAdd(job.Id, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            Directory.CreateDirectory(folder);
            foreach (var (name, args) in Exports)
            {
                string path = Path.Combine(folder, name), unavailable = path + ".unavailable";
                if (File.Exists(path) || File.Exists(unavailable)) continue;
                await ExportAsync(job.Id, jobFolder, path, unavailable, args, ct).ConfigureAwait(false);
            }
        }
        finally
        {
            gate.Release();
        }
        var files = new JsonArray();
        var missing = new JsonObject();
        foreach (var name in Exports.Keys)
        {
            string path = Path.Combine(folder, name);
            if (File.Exists(path))
                files.Add(new JsonObject { ["name"] = name, ["bytes"] = new FileInfo(path).Length, ["url"] = $"/api/jobs/{job.Id}/artifacts/{name}" });
            else if (File.Exists(path + ".unavailable")) missing[name] = File.ReadAllText(path + ".unavailable").Trim();
        }
        return new JsonObject { ["job"] = job.Id, ["artifacts"] = files, ["unavailable"] = missing };
    }

    /// <summary>The path of an export by name, when it is one of <see cref="Exports"/> and has been made; null otherwise.</summary>
    public string? Find(string id, string name) =>
        Exports.ContainsKey(name) && Path.Combine(Folder(id), name) is var path && File.Exists(path) ? path : null;

    private async Task ExportAsync(string id, string jobFolder, string path, string unavailable, string[] args, CancellationToken ct)
    {
        var psi = new ProcessStartInfo { FileName = JobLaunch.Program()[0], RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in JobLaunch.Program().Skip(1)) psi.ArgumentList.Add(a);
        foreach (var a in (string[])["export", "--checkpoint", jobFolder, "--out", path, .. args]) psi.ArgumentList.Add(a);
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("contrastive export did not start");
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(ExportTimeout);
        try { await process.WaitForExitAsync(limit.Token).ConfigureAwait(false); }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new IOException($"exporting job {id}'s {Path.GetFileName(path)} took longer than {ExportTimeout.TotalMinutes:F0} minutes");
        }
        string errors = (await stderr.ConfigureAwait(false)).Trim();
        await stdout.ConfigureAwait(false);
        if (process.ExitCode == 0)
        {
            log.LogInformation("job {Id}: exported {Name} ({Bytes} bytes) in {Seconds:F1}s", id, Path.GetFileName(path), new FileInfo(path).Length, clock.Elapsed.TotalSeconds);
            return;
        }
        string reason = errors.Split('\n').LastOrDefault(l => l.StartsWith("error:", StringComparison.Ordinal))?["error:".Length..].Trim() ?? errors;
        if (process.ExitCode == Cli.Usage)
        {
            // The checkpoint cannot take this form (not a failure to retry): remembered with the reason.
            await File.WriteAllTextAsync(unavailable, reason + "\n", ct).ConfigureAwait(false);
            log.LogInformation("job {Id}: no {Name}: {Reason}", id, Path.GetFileName(path), reason);
            return;
        }
        throw new IOException($"exporting job {id}'s {Path.GetFileName(path)} failed (exit code {process.ExitCode}): {reason}");
    }
}
