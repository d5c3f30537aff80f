using Contrastive.Host.Serve;

namespace Contrastive.Host.Tests;

/// <summary>
/// The processes of service jobs (marked by CONTRASTIVE_SERVE_JOB in their environment), found through /proc: the tests look at
/// them (a job's rank to kill) and end any a test left running under its folder (a job outlives a killed service by design).
/// </summary>
internal static class JobProcesses
{
    /// <summary>The processes of job <paramref name="id"/>: (pid, command line).</summary>
    public static List<(int Pid, string[] Args)> Of(string id) => ProcessTable.WithVariable(JobLaunch.MarkerVariable, id);

    /// <summary>The training processes of job <paramref name="id"/> (`dotnet contrastive.dll train`), not its wrapper or mpirun: as the executor tells them.</summary>
    public static List<int> Trainers(string id) =>
        [.. Of(id).Where(p => LocalExecutor.IsTrainer(p.Args)).Select(p => p.Pid)];

    /// <summary>SIGKILLs every job process whose settings name a path under <paramref name="folder"/>.</summary>
    public static void KillUnder(string folder)
    {
        foreach (var (pid, _) in ProcessTable.Where(env => env.Any(v => v.StartsWith(JobLaunch.MarkerVariable + "=", StringComparison.Ordinal)) && env.Any(v => v.Contains(folder, StringComparison.Ordinal))))
        {
            try { System.Diagnostics.Process.GetProcessById(pid).Kill(); }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception) { }
        }
    }
}
