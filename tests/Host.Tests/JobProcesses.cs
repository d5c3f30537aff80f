using System.Globalization;

namespace Contrastive.Host.Tests;

/// <summary>
/// The processes of service jobs (marked by CONTRASTIVE_SERVE_JOB in their environment), found through /proc: the tests look at
/// them (a job's rank to kill) and end any a test left running under its folder (a job outlives a killed service by design).
/// </summary>
internal static class JobProcesses
{
    /// <summary>The processes of job <paramref name="id"/>: (pid, command line).</summary>
    public static List<(int Pid, string[] Args)> Of(string id) => Find(env => env.Contains("CONTRASTIVE_SERVE_JOB=" + id));

    /// <summary>The training processes of job <paramref name="id"/> (`dotnet contrastive.dll train`), not its wrapper or mpirun.</summary>
    public static List<int> Trainers(string id) =>
        [.. Of(id).Where(p => p.Args.Length > 2 && Path.GetFileName(p.Args[0]) == "dotnet" && p.Args.Contains("train")).Select(p => p.Pid)];

    /// <summary>SIGKILLs every job process whose settings name a path under <paramref name="folder"/>.</summary>
    public static void KillUnder(string folder)
    {
        foreach (var (pid, _) in Find(env => env.Any(v => v.StartsWith("CONTRASTIVE_SERVE_JOB=", StringComparison.Ordinal)) && env.Any(v => v.Contains(folder, StringComparison.Ordinal))))
        {
            try { System.Diagnostics.Process.GetProcessById(pid).Kill(); }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception) { }
        }
    }

    private static List<(int, string[])> Find(Func<string[], bool> match)
    {
        var found = new List<(int, string[])>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.Integer, CultureInfo.InvariantCulture, out int pid) || pid == Environment.ProcessId) continue;
            try
            {
                if (match(File.ReadAllText(Path.Combine(dir, "environ")).Split('\0')))
                    found.Add((pid, File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0', StringSplitOptions.RemoveEmptyEntries)));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        return found;
    }
}
