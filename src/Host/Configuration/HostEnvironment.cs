using Contrastive.Training;

namespace Contrastive.Host;

/// <summary>
/// The process environment the Host reads besides the configuration's CONTRASTIVE_ keys: read here only, once, and passed
/// on as values (the libraries read no environment).
/// </summary>
internal static class HostEnvironment
{
    /// <summary>CONTRASTIVE_DEBUG=1: errors print their stack trace.</summary>
    public static bool Debug => Environment.GetEnvironmentVariable("CONTRASTIVE_DEBUG") == "1";

    /// <summary>CONTRASTIVE_PROGRESS=off turns the live display off; so does a missing or dumb TERM.</summary>
    public static bool LiveDisplayAllowed =>
        !string.Equals(Environment.GetEnvironmentVariable("CONTRASTIVE_PROGRESS"), "off", StringComparison.OrdinalIgnoreCase)
        && Environment.GetEnvironmentVariable("TERM") is not (null or "" or "dumb");

    /// <summary>What the launcher (mpirun, srun, torchrun's names) says about this process.</summary>
    /// <exception cref="DistributedSetupException">The launcher's variables do not make sense.</exception>
    public static LaunchEnvironment Launch() => LaunchEnvironment.Detect(Environment.GetEnvironmentVariable);

    /// <summary>This process's rank on its machine (the GPU it takes); 0 when not launched or when the launcher's variables are unusable (the run reports those).</summary>
    public static int LocalRank
    {
        get
        {
            try { return Launch().LocalRank; }
            catch (DistributedSetupException) { return 0; }
        }
    }

    /// <summary>CONTRASTIVE_MPI_LIBRARY: another libmpi (a path or file name) than Open MPI's libmpi.so.40, e.g. one under /opt.</summary>
    public static string MpiLibrary =>
        Environment.GetEnvironmentVariable("CONTRASTIVE_MPI_LIBRARY") is { Length: > 0 } name ? name : MpiProcessGroup.Library;

    /// <summary>torchrun's RANK and WORLD_SIZE, as the defaults of Data:Rank and Data:WorldSize (any other source overrides them).</summary>
    public static IEnumerable<KeyValuePair<string, string?>> DataShareDefaults()
    {
        foreach (var (key, variable) in new[] { ("Data:Rank", "RANK"), ("Data:WorldSize", "WORLD_SIZE") })
            if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value) yield return new(key, value);
    }
}
