using System.ComponentModel.DataAnnotations;

namespace Contrastive.Host.Serve;

/// <summary>Where and how the slurm executor submits jobs (section "Serve:Slurm"). A spec's "partition" and "time_limit" override the defaults here.</summary>
internal sealed class SlurmOptions
{
    /// <summary>The partition jobs go to (sbatch --partition). Default: the cluster's default partition.</summary>
    public string? Partition { get; set; }

    /// <summary>The account jobs are charged to (sbatch --account). Default: the user's default account.</summary>
    public string? Account { get; set; }

    /// <summary>Nodes a job spreads over (sbatch --nodes). Default 0: as SLURM places the job's processes.</summary>
    [Range(0, 100_000)]
    public int Nodes { get; set; }

    /// <summary>A job's time limit in SLURM's form (minutes, or [D-]HH:MM:SS; sbatch --time). Default: the partition's.</summary>
    [RegularExpression(@"^(\d+|(\d+-)?\d{1,2}(:\d{2}){1,2})$", ErrorMessage = "must be minutes or [D-]HH:MM:SS")]
    public string? TimeLimit { get; set; }

    /// <summary>
    /// Times a job that SLURM stopped (its time limit, a preemption, a lost node) is submitted again to resume from its
    /// checkpoint before it fails. Default 20.
    /// </summary>
    [Range(0, 100_000)]
    public int MaxResubmits { get; set; } = 20;

    /// <summary>Arguments given to srun before the command (separated by spaces). Default "--mpi=pmix" (Open MPI through PMIx).</summary>
    public string SrunArgs { get; set; } = "--mpi=pmix";

    /// <summary>Seconds between looks at a job's SLURM state (squeue) while its files say nothing new. Default 5.</summary>
    [Range(0.5, 3600)]
    public double PollSeconds { get; set; } = 5;
}
