using System.Globalization;

namespace Contrastive.Training;

/// <summary>
/// What the launcher says about this process: Open MPI's mpirun (<c>OMPI_COMM_WORLD_RANK</c>, <c>_SIZE</c>,
/// <c>_LOCAL_RANK</c>), SLURM's srun (<c>SLURM_PROCID</c>, <c>SLURM_STEP_NUM_TASKS</c> or <c>SLURM_NTASKS</c>,
/// <c>SLURM_LOCALID</c>, inside a job step only), or torchrun's names (<c>RANK</c>, <c>WORLD_SIZE</c>, <c>LOCAL_RANK</c>),
/// first found in that order; a single process otherwise.
/// </summary>
/// <param name="Launcher">"mpirun", "srun", "RANK/WORLD_SIZE" (torchrun's names) or "none".</param>
public sealed record LaunchEnvironment(string Launcher, int Rank, int WorldSize, int LocalRank)
{
    public static LaunchEnvironment Single { get; } = new("none", 0, 1, 0);

    /// <summary>From the given environment (a program passes <c>Environment.GetEnvironmentVariable</c>; the library reads none itself).</summary>
    public static LaunchEnvironment Detect(Func<string, string?> env)
    {
        if (Int(env, "OMPI_COMM_WORLD_SIZE") is { } ompiSize)
            return Checked("mpirun", Int(env, "OMPI_COMM_WORLD_RANK") ?? 0, ompiSize, Int(env, "OMPI_COMM_WORLD_LOCAL_RANK") ?? 0, "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE");
        if (env("SLURM_STEP_ID") is not null && Int(env, "SLURM_PROCID") is { } procId)
            return Checked("srun", procId, Int(env, "SLURM_STEP_NUM_TASKS") ?? Int(env, "SLURM_NTASKS") ?? 1, Int(env, "SLURM_LOCALID") ?? 0, "SLURM_PROCID", "SLURM_STEP_NUM_TASKS");
        if (Int(env, "WORLD_SIZE") is { } worldSize)
            return Checked("RANK/WORLD_SIZE", Int(env, "RANK") ?? 0, worldSize, Int(env, "LOCAL_RANK") ?? 0, "RANK", "WORLD_SIZE");
        return Single;
    }

    /// <summary>Whether this is one of several processes.</summary>
    public bool Distributed => WorldSize > 1;

    public override string ToString() => Distributed ? $"rank {Rank} of {WorldSize} (local rank {LocalRank}; from {Launcher})" : "a single process";

    private static LaunchEnvironment Checked(string launcher, int rank, int size, int local, string rankName, string sizeName)
    {
        if (size < 1) throw new DistributedSetupException($"{sizeName}={size}: a world has at least one process.");
        if (rank < 0 || rank >= size) throw new DistributedSetupException($"{rankName}={rank} is outside a world of {sizeName}={size}.");
        return new LaunchEnvironment(launcher, rank, size, Math.Max(0, local));
    }

    private static int? Int(Func<string, string?> env, string name)
    {
        string? s = env(name);
        if (string.IsNullOrWhiteSpace(s)) return null;
        return int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v)
            ? v : throw new DistributedSetupException($"environment variable {name}='{s}' is not a whole number.");
    }
}
