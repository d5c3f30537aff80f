namespace Contrastive.Host.Serve;

/// <summary>
/// Where the service runs a job's processes (Serve:Executor). A job is always `contrastive train --json` (under a launcher for
/// several processes) in its run folder; the executor starts it, says whether it still runs, and signals it. Everything else
/// the service knows of a job it reads from the run folder (status.json, metrics.jsonl, result.json or the result line, the exit code), so it
/// needs no connection to the job and can re-attach after its own restart.
/// </summary>
internal interface IJobExecutor
{
    /// <summary>The name jobs record ("local", "slurm").</summary>
    string Name { get; }

    /// <summary>What starts a job's several processes ("mpirun", "srun"), for the job's log.</summary>
    string Launcher { get; }

    /// <summary>Starts the job; returns the id it has there (a process id, a SLURM job id).</summary>
    /// <exception cref="JobLaunchException">The job could not be started; the message says why.</exception>
    string Start(JobLaunch launch);

    /// <summary>What became of a started job: null while it runs, else how it ended.</summary>
    JobExit? Poll(JobLaunch launch, string externalId);

    /// <summary>Asks the job's training processes (its ranks, not the launcher) to stop after their step with a checkpoint. Returns how many were signalled.</summary>
    int Stop(JobLaunch launch, string externalId);

    /// <summary>Ends the job's processes at once (SIGKILL): for a job that did not stop when asked.</summary>
    void Kill(JobLaunch launch, string externalId);

    /// <summary>How often a job the executor stopped by itself (a time limit, a lost node) is resumed before it fails; null: no bound.</summary>
    int? MaxResubmits => null;
}
