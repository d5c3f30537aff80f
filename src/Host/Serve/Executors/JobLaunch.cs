namespace Contrastive.Host.Serve;

/// <summary>
/// What an executor needs to run one job: the job, its run folder, the `contrastive train --json` command line, the
/// configuration it runs with (as CONTRASTIVE_ environment variables, so the spec's settings reach every rank whatever the
/// launcher) and how many processes it has.
/// </summary>
internal sealed record JobLaunch(string JobId, string Folder, IReadOnlyList<string> Command, IReadOnlyDictionary<string, string> Variables, int Processes)
{
    /// <summary>The spec's SLURM partition (the slurm executor; null: Serve:Slurm's).</summary>
    public string? Partition { get; init; }

    /// <summary>The spec's SLURM time limit (the slurm executor; null: Serve:Slurm's).</summary>
    public string? TimeLimit { get; init; }

    /// <summary>The environment variable that marks a job's processes (its value is the job id): how an executor finds them again.</summary>
    public const string MarkerVariable = "CONTRASTIVE_SERVE_JOB";

    /// <summary>The job's result line(s): the standard output of `train --json` (one line per rank; result.json is read first).</summary>
    public const string OutputFile = "stdout.log";

    /// <summary>The exit code the job's wrapper writes when its command ends.</summary>
    public const string ExitFile = "exit_code";

    /// <summary>The launcher's variables a job must not inherit from the service (the service may itself run under mpirun or srun).</summary>
    private static readonly string[] LauncherPrefixes = ["OMPI_COMM_WORLD_", "PMIX_RANK", "SLURM_STEP_", "SLURM_PROCID", "SLURM_LOCALID", "SLURM_JOB_ID"];

    private static readonly string[] LauncherNames = ["RANK", "WORLD_SIZE", "LOCAL_RANK"];

    /// <summary>
    /// A job's launch: <paramref name="settings"/> (configuration key → value) become CONTRASTIVE_SECTION__KEY variables (none
    /// for a job re-attached to, which only needs naming to be polled, stopped or killed).
    /// </summary>
    public static JobLaunch For(string jobId, string folder, IReadOnlyDictionary<string, string?> settings, int processes)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal) { [MarkerVariable] = jobId };
        foreach (var (key, value) in settings)
            if (value is not null) env[Settings.EnvironmentPrefix + key.Replace(":", "__", StringComparison.Ordinal)] = value;
        return new JobLaunch(jobId, folder, [.. Program(), "train", "--json"], env, processes);
    }

    /// <summary>How to run this same `contrastive`: the apphost, or `dotnet contrastive.dll`.</summary>
    public static IReadOnlyList<string> Program()
    {
        string process = Environment.ProcessPath ?? "dotnet";
        string entry = System.Reflection.Assembly.GetEntryAssembly()?.Location ?? Path.Combine(AppContext.BaseDirectory, "contrastive.dll");
        return Path.GetFileNameWithoutExtension(process).Equals("dotnet", StringComparison.OrdinalIgnoreCase) ? [process, entry] : [process];
    }

    /// <summary>Whether a variable of the service's environment belongs to its own launcher and must not reach a job.</summary>
    public static bool IsLauncherVariable(string name) =>
        LauncherNames.Contains(name) || LauncherPrefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal));
}
