using System.Globalization;
using System.Runtime.InteropServices;

namespace Contrastive.Host.Serve;

/// <summary>What Linux's /proc says of processes, and signals to them: how the local executor finds and stops a job's processes.</summary>
internal static partial class ProcessTable
{
    public const int SigTerm = 15, SigKill = 9;

    /// <summary>This boot's id (/proc/sys/kernel/random/boot_id): a process id means nothing across a reboot.</summary>
    public static string BootId()
    {
        try { return File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim(); }
        catch (IOException) { return ""; }
    }

    /// <summary>When the process started, in clock ticks since boot (/proc/PID/stat field 22); null when there is no such live process (a zombie counts as gone).</summary>
    public static long? StartTime(int pid)
    {
        string stat;
        try { stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        // The command name (field 2) is in parentheses and may hold spaces: the fields after it start past the last ')'.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        if (fields[0] is "Z" or "X") return null;
        return long.TryParse(fields[19], NumberStyles.Integer, CultureInfo.InvariantCulture, out long start) ? start : null;
    }

    /// <summary>The processes whose environment has <paramref name="variable"/>=<paramref name="value"/>, with their command lines.</summary>
    public static List<(int Pid, string[] Args)> WithVariable(string variable, string value)
    {
        string wanted = variable + "=" + value;
        return Where(env => env.Contains(wanted));
    }

    /// <summary>The processes (other than this one) whose environment (NAME=value entries) <paramref name="match"/> accepts, with their command lines.</summary>
    public static List<(int Pid, string[] Args)> Where(Func<string[], bool> match)
    {
        var found = new List<(int, string[])>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.Integer, CultureInfo.InvariantCulture, out int pid) || pid == Environment.ProcessId) continue;
            try
            {
                if (!match(File.ReadAllText(Path.Combine(dir, "environ")).Split('\0'))) continue;
                found.Add((pid, File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0', StringSplitOptions.RemoveEmptyEntries)));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { } // ended meanwhile, or not ours
        }
        return found;
    }

    /// <summary>Sends <paramref name="signal"/> to a process (a negative id: to a process group). False when there is no such process.</summary>
    public static bool Signal(int pid, int signal) => kill(pid, signal) == 0;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int kill(int pid, int sig);
}
