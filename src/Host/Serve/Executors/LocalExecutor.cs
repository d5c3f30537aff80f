using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Contrastive.Host.Serve;

/// <summary>
/// Serve:Executor local: each job is its own process tree on this machine, never the service's process. A small shell wrapper,
/// started in a session of its own (setsid, so the service's death or its terminal's signals do not reach the job), runs
/// `contrastive train --json` (or `mpirun -np N … contrastive train --json` for N processes) with its output in the run folder,
/// then writes the command's exit code there. The job is found again by its wrapper's process id and start time
/// (process.json) and its ranks by the marker variable in their environment, so a restarted service re-attaches to it.
/// </summary>
internal sealed class LocalExecutor(ServeOptions options) : IJobExecutor
{
    public const string ProcessFile = "process.json";

    // The wrapper: output to the run folder, the command, then its exit code written atomically (a reader sees all of it or none).
    private const string Wrapper = """
        dir=$1; shift
        exec </dev/null >>"$dir/job.log" 2>&1
        "$@" >"$dir/stdout.log"
        code=$?
        printf '%s\n' "$code" >"$dir/exit_code.tmp" && mv -f "$dir/exit_code.tmp" "$dir/exit_code"
        """;

    // The service's own children (reaped through their Process objects); a re-attached job is polled through /proc alone.
    private readonly ConcurrentDictionary<int, Process> _children = new();

    public string Name => "local";

    public string Launcher => "mpirun";

    public string Start(JobLaunch launch)
    {
        foreach (var stale in new[] { JobLaunch.ExitFile, JobLaunch.OutputFile, ProcessFile, RunStatus.FileName })
            File.Delete(Path.Combine(launch.Folder, stale));
        RunResultFile.DeleteAll(launch.Folder);
        var psi = new ProcessStartInfo("setsid") { UseShellExecute = false, WorkingDirectory = Environment.CurrentDirectory };
        foreach (var a in new[] { "sh", "-c", Wrapper, "contrastive-job", launch.Folder }) psi.ArgumentList.Add(a);
        if (launch.Processes > 1)
        {
            psi.ArgumentList.Add(options.Mpirun);
            foreach (var a in new[] { "-np", launch.Processes.ToString(CultureInfo.InvariantCulture) }) psi.ArgumentList.Add(a);
            foreach (var a in options.MpirunArgs.Split(' ', StringSplitOptions.RemoveEmptyEntries)) psi.ArgumentList.Add(a);
        }
        foreach (var a in launch.Command) psi.ArgumentList.Add(a);
        foreach (var name in psi.Environment.Keys.Where(JobLaunch.IsLauncherVariable).ToList()) psi.Environment.Remove(name);
        foreach (var (k, v) in launch.Variables) psi.Environment[k] = v;
        Process process;
        try { process = Process.Start(psi) ?? throw new JobLaunchException("setsid did not start"); }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new JobLaunchException($"cannot start the job's process ({e.Message}); the local executor needs setsid and sh (util-linux, dash)", e);
        }
        _children[process.Id] = process;
        var record = new ProcessRecord(process.Id, ProcessTable.StartTime(process.Id) ?? 0, ProcessTable.BootId());
        File.WriteAllBytes(Path.Combine(launch.Folder, ProcessFile), JsonSerializer.SerializeToUtf8Bytes(record));
        return process.Id.ToString(CultureInfo.InvariantCulture);
    }

    public JobExit? Poll(JobLaunch launch, string externalId)
    {
        var record = Read(launch.Folder);
        int pid = record?.Pid ?? int.Parse(externalId, CultureInfo.InvariantCulture);
        if (_children.TryGetValue(pid, out var own))
        {
            if (!own.HasExited) return null;
            _children.TryRemove(pid, out _);
            own.Dispose();
        }
        else if (record is not null && record.BootId == ProcessTable.BootId() && ProcessTable.StartTime(pid) == record.StartTime)
        {
            return null; // the same process still runs (the id was not reused: same start time, same boot)
        }
        string exitFile = Path.Combine(launch.Folder, JobLaunch.ExitFile);
        if (File.Exists(exitFile) && int.TryParse(File.ReadAllText(exitFile).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int code))
            return new JobExit(code, JobExit.Describe(code));
        // No exit code: the wrapper died with the job (killed with the service's process group or control group, or the machine restarted).
        return new JobExit(null, record is not null && record.BootId != ProcessTable.BootId()
            ? "the machine restarted while it ran"
            : "its processes ended without an exit code (killed together with their wrapper, e.g. with the service's process group)", Lost: true);
    }

    public int Stop(JobLaunch launch, string externalId)
    {
        int signalled = 0;
        foreach (var (pid, args) in ProcessTable.WithVariable(JobLaunch.MarkerVariable, launch.JobId))
            if (IsTrainer(args) && ProcessTable.Signal(pid, ProcessTable.SigTerm)) signalled++;
        return signalled;
    }

    public void Kill(JobLaunch launch, string externalId)
    {
        if (Read(launch.Folder) is { } record && record.BootId == ProcessTable.BootId() && ProcessTable.StartTime(record.Pid) == record.StartTime)
            ProcessTable.Signal(-record.Pid, ProcessTable.SigKill); // its session's process group: the wrapper, mpirun and the ranks
        foreach (var (pid, args) in ProcessTable.WithVariable(JobLaunch.MarkerVariable, launch.JobId))
            if (IsTrainer(args)) ProcessTable.Signal(pid, ProcessTable.SigKill);
    }

    /// <summary>A rank: `contrastive train` (or `dotnet contrastive.dll train`), not the wrapper shell or mpirun, whose command lines name it too.</summary>
    internal static bool IsTrainer(string[] args) =>
        args.Length > 1 && Path.GetFileName(args[0]) is "dotnet" or "contrastive" && args.Contains("train");

    private static ProcessRecord? Read(string folder)
    {
        try { return JsonSerializer.Deserialize<ProcessRecord>(File.ReadAllBytes(Path.Combine(folder, ProcessFile))); }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>The wrapper's process id, its start time and the boot it ran in.</summary>
    private sealed record ProcessRecord(int Pid, long StartTime, string BootId);
}
