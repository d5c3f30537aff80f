namespace Contrastive.Host.Serve;

/// <summary>
/// How a job's processes ended: the exit code, a sentence saying why, and whether they were lost (no exit code was left: they
/// died with their wrapper, e.g. killed with the service, or the machine restarted); a lost job resumes from its checkpoint,
/// while one whose command itself failed or was killed is failed.
/// </summary>
internal sealed record JobExit(int? Code, string Reason, bool Lost = false)
{
    /// <summary>The reason for an exit code as a shell reports it (128 + N: killed by signal N).</summary>
    public static string Describe(int code) => code switch
    {
        0 => "exit code 0",
        137 => "killed by SIGKILL (signal 9: killed by someone, or by the kernel's out-of-memory killer)",
        134 => "aborted (SIGABRT, signal 6: a native crash)",
        139 => "crashed (SIGSEGV, signal 11)",
        143 => "stopped by SIGTERM (signal 15) before it could checkpoint",
        > 128 and < 160 => $"killed by signal {code - 128}",
        2 => "exit code 2 (a usage error: a setting or the data could not be used)",
        _ => $"exit code {code}",
    };
}
