using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Contrastive.Host.Serve;

/// <summary>
/// Serve:Executor slurm: each job is a SLURM batch job. The service writes a batch script into the job's folder (which must be
/// on a file system the nodes share) that runs <c>srun --mpi=pmix -n N contrastive train --json</c> with the job's settings in
/// its environment (sbatch exports the submitter's), then writes the command's exit code there; it submits it with
/// <c>sbatch --parsable</c>, records the SLURM job id, follows it with <c>squeue</c> / <c>scontrol</c>, asks its ranks to
/// checkpoint with <c>scancel --signal=TERM</c> (the job steps, not the batch shell), and ends it with <c>scancel</c>.
/// </summary>
internal sealed class SlurmExecutor(ServeOptions options) : IJobExecutor
{
    public const string ScriptFile = "job.sbatch";

    private static readonly string[] Active = ["PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "RESIZING", "SIGNALING", "STAGE_OUT"];

    private readonly ConcurrentDictionary<string, DateTime> _lastLook = new();

    public string Name => "slurm";

    public string Launcher => "srun";

    public int? MaxResubmits => options.Slurm.MaxResubmits;

    public string Start(JobLaunch launch)
    {
        foreach (var stale in new[] { JobLaunch.ExitFile, JobLaunch.OutputFile, RunStatus.FileName })
            File.Delete(Path.Combine(launch.Folder, stale));
        RunResultFile.DeleteAll(launch.Folder);
        string script = Path.Combine(launch.Folder, ScriptFile);
        File.WriteAllText(script, Script(launch));
        var (code, stdout, stderr) = Run(["sbatch", "--parsable", script], launch.Variables);
        string id = stdout.Trim().Split(';')[0];
        if (code != 0 || !long.TryParse(id, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
            throw new JobLaunchException($"sbatch refused the job (exit {code}): {(stderr + stdout).Trim()}");
        return id;
    }

    /// <summary>The batch script: SLURM's directives, then srun of the command with its output in the run folder, then the exit code.</summary>
    internal string Script(JobLaunch launch)
    {
        var slurm = options.Slurm;
        var sb = new StringBuilder("#!/bin/sh\n");
        void Directive(string text) => sb.Append("#SBATCH ").Append(text).Append('\n');
        Directive($"--job-name=contrastive-{launch.JobId}");
        Directive($"--output={Path.Combine(launch.Folder, "slurm-%j.out")}");
        Directive(string.Create(CultureInfo.InvariantCulture, $"--ntasks={launch.Processes}"));
        if ((launch.Partition ?? slurm.Partition) is { Length: > 0 } partition) Directive($"--partition={partition}");
        if (slurm.Account is { Length: > 0 } account) Directive($"--account={account}");
        if (slurm.Nodes > 0) Directive(string.Create(CultureInfo.InvariantCulture, $"--nodes={slurm.Nodes}"));
        if ((launch.TimeLimit ?? slurm.TimeLimit) is { Length: > 0 } time) Directive($"--time={time}");
        sb.Append("# The batch shell outlives a SIGTERM (a time limit signals every step) to write the exit code.\n");
        sb.Append("trap '' TERM\n");
        sb.Append("dir=").Append(Quote(launch.Folder)).Append('\n');
        sb.Append("srun ").Append(options.Slurm.SrunArgs).Append(string.Create(CultureInfo.InvariantCulture, $" -n {launch.Processes}"));
        foreach (var a in launch.Command) sb.Append(' ').Append(Quote(a));
        sb.Append(" </dev/null >\"$dir/").Append(JobLaunch.OutputFile).Append("\" 2>>\"$dir/job.log\"\n");
        sb.Append("code=$?\n");
        sb.Append("printf '%s\\n' \"$code\" >\"$dir/exit_code.tmp\" && mv -f \"$dir/exit_code.tmp\" \"$dir/exit_code\"\n");
        return sb.ToString();
    }

    public JobExit? Poll(JobLaunch launch, string externalId)
    {
        // SLURM is asked now and then, not at every look at the run folder.
        var now = DateTime.UtcNow;
        if (_lastLook.TryGetValue(externalId, out var last) && now - last < TimeSpan.FromSeconds(options.Slurm.PollSeconds)) return null;
        _lastLook[externalId] = now;
        string? state = State(externalId);
        // Still SLURM's (waiting, running, or completing after its command ended: its final state, e.g. TIMEOUT, comes after).
        if (state is not null && (state == Unreachable || Active.Any(a => state.StartsWith(a, StringComparison.Ordinal)))) return null;
        _lastLook.TryRemove(externalId, out _);
        string exitFile = Path.Combine(launch.Folder, JobLaunch.ExitFile);
        if (!File.Exists(exitFile))
            return new JobExit(null, state is null
                ? $"SLURM job {externalId} is gone and left no exit code"
                : $"SLURM job {externalId} ended {state} before its command could write an exit code", Lost: state is null or "NODE_FAIL" or "BOOT_FAIL" or "PREEMPTED" or "TIMEOUT");
        int code = int.TryParse(File.ReadAllText(exitFile).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int c) ? c : 1;
        // Ended by SLURM's time limit or a preemption, its stop signal landing where the run could not take it (its last
        // checkpoint written, the end's evaluation running): the job resumes from that checkpoint, as one without an exit code.
        return new JobExit(code, JobExit.Describe(code) + (state is null or "COMPLETED" ? "" : $" (SLURM job {externalId}: {state})"),
            Lost: code != 0 && state is "TIMEOUT" or "PREEMPTED");
    }

    public int Stop(JobLaunch launch, string externalId)
    {
        // A job still waiting has no ranks: it is cancelled outright. A running one's steps (the ranks) get SIGTERM.
        string? state = State(externalId);
        if (state is "PENDING" or "REQUEUED")
            return Run(["scancel", externalId], null).Code == 0 ? 1 : 0;
        return Run(["scancel", "--signal=TERM", externalId], null).Code == 0 && state is "RUNNING" ? launch.Processes : 0;
    }

    public void Kill(JobLaunch launch, string externalId) => Run(["scancel", externalId], null);

    /// <summary>What <see cref="State"/> says when SLURM's controller does not answer: the job is taken as still running.</summary>
    private const string Unreachable = "(SLURM not answering)";

    /// <summary>
    /// The job's SLURM state (RUNNING, PENDING, COMPLETING, COMPLETED, TIMEOUT, …); null when SLURM no longer knows the job;
    /// <see cref="Unreachable"/> when its controller does not answer.
    /// </summary>
    private static string? State(string id)
    {
        var (code, stdout, stderr) = Run(["squeue", "-h", "-j", id, "-o", "%T"], null);
        string state = stdout.Trim();
        if (code == 0 && state.Length > 0) return state;
        if (code != 0 && !stderr.Contains("Invalid job id", StringComparison.OrdinalIgnoreCase)) return Unreachable;
        // Out of the queue: scontrol still knows an ended job for MinJobAge (its JobState: COMPLETED, TIMEOUT, …).
        var (shown, text, error) = Run(["scontrol", "show", "job", id], null);
        if (shown != 0) return error.Contains("Invalid job id", StringComparison.OrdinalIgnoreCase) ? null : Unreachable;
        int at = text.IndexOf("JobState=", StringComparison.Ordinal);
        return at < 0 ? null : text[(at + 9)..].Split(' ', '\n')[0];
    }

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static (int Code, string Out, string Err) Run(string[] args, IReadOnlyDictionary<string, string>? variables)
    {
        var psi = new ProcessStartInfo(args[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args[1..]) psi.ArgumentList.Add(a);
        if (variables is not null)
        {
            foreach (var name in psi.Environment.Keys.Where(JobLaunch.IsLauncherVariable).ToList()) psi.Environment.Remove(name);
            foreach (var (k, v) in variables) psi.Environment[k] = v;
        }
        try
        {
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(TimeSpan.FromSeconds(60)))
            {
                p.Kill(entireProcessTree: true);
                return (-1, "", $"{args[0]} did not answer within 60 s");
            }
            return (p.ExitCode, stdout.Result, stderr.Result);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new JobLaunchException($"cannot run {args[0]} ({e.Message}); the slurm executor needs SLURM's commands (sbatch, squeue, scontrol, scancel) on the PATH", e);
        }
    }
}
