using System.ComponentModel.DataAnnotations;

namespace Contrastive.Host.Serve;

/// <summary>`contrastive serve`: the hosted training service. Configuration section "Serve".</summary>
internal sealed class ServeOptions
{
    /// <summary>Where Kestrel listens, separated by ';'. Default http://127.0.0.1:8080 (loopback only).</summary>
    [Required]
    public string Urls { get; set; } = "http://127.0.0.1:8080";

    /// <summary>The state directory: the job database (jobs.db) and one folder per job (jobs/ID). Default "serve-state".</summary>
    [Required]
    public string State { get; set; } = "serve-state";

    /// <summary>A file holding the API key; every /api request then needs "Authorization: Bearer KEY". Unset: no key (loopback binds only).</summary>
    public string? ApiKeyFile { get; set; }

    /// <summary>
    /// A file of tenants' keys, one a line: KEY TENANT [max_jobs] [max_processes] ('#' starts a comment). A tenant's requests
    /// see only its own jobs; its active jobs (and their processes) are bounded by its quota; its data roots are its own
    /// (TENANT under each data root). The key of Serve:ApiKeyFile stays the admin's. Unset: no tenants.
    /// </summary>
    public string? ApiKeysFile { get; set; }

    /// <summary>
    /// Object storage for the jobs' checkpoints and metrics (s3://bucket/prefix): each job's go to PREFIX/jobs/ID as they are
    /// written (its folder under the state directory stays its working copy). Unset: the state directory only.
    /// </summary>
    [RegularExpression("^s3://[^/]+(/.*)?$", ErrorMessage = "must be an s3://bucket/prefix URI")]
    public string? CheckpointPrefix { get; set; }

    /// <summary>Jobs trained at once. Default 1.</summary>
    [Range(1, 1024)]
    public int MaxConcurrentJobs { get; set; } = 1;

    /// <summary>
    /// Where jobs run: "local" (each job its own process tree on this machine: `contrastive train`, or `mpirun -np N` for a job
    /// of N processes) or "slurm" (each job a SLURM batch job: `srun --mpi=pmix -n N contrastive train`; section
    /// "Serve:Slurm"). Default local.
    /// </summary>
    [RegularExpression("^(local|slurm)$", ErrorMessage = "must be local or slurm")]
    public string Executor { get; set; } = "local";

    /// <summary>The slurm executor's settings (section "Serve:Slurm").</summary>
    public SlurmOptions Slurm { get; set; } = new();

    /// <summary>
    /// Processes running at once over all jobs (a job of N processes takes N). Default 0: this machine's cores with the local
    /// executor, no bound with slurm (the cluster queues).
    /// </summary>
    [Range(0, 100_000)]
    public int Slots { get; set; }

    /// <summary>
    /// What a stop of the service (SIGTERM, Ctrl-C) does to running jobs: "checkpoint" (they finish their step, write a
    /// checkpoint and resume at the next start) or "detach" (they keep training; the next start re-attaches to them: an
    /// upgrade without stopping jobs). Default checkpoint.
    /// </summary>
    [RegularExpression("^(checkpoint|detach)$", ErrorMessage = "must be checkpoint or detach")]
    public string OnStop { get; set; } = "checkpoint";

    /// <summary>The Open MPI launcher for jobs of several processes. Default mpirun (from PATH).</summary>
    [Required]
    public string Mpirun { get; set; } = "mpirun";

    /// <summary>Arguments given to mpirun before the command (separated by spaces). Default "--oversubscribe --bind-to none".</summary>
    public string MpirunArgs { get; set; } = "--oversubscribe --bind-to none";

    /// <summary>
    /// The data roots of <paramref name="tenant"/>: the folder (or prefix) named after it under each data root; the admin's
    /// (null) are the data roots themselves.
    /// </summary>
    public IReadOnlyList<string> RootsFor(string? tenant) => tenant is null ? DataRoots
        : [.. DataRoots.Select(r => r.Contains("://", StringComparison.Ordinal) ? $"{r.TrimEnd('/')}/{tenant}" : Path.Combine(r, tenant))];

    /// <summary>The process slots: <see cref="Slots"/>, or this machine's cores when 0.</summary>
    public int ProcessSlots => Slots > 0 ? Slots : Executor == "slurm" ? int.MaxValue / 2 : Environment.ProcessorCount;

    /// <summary>
    /// Where job data may be: local folders (a job's "data" must lie under one) or object-storage prefixes (s3://bucket/prefix).
    /// Default: none, so every job is refused until at least one is configured (Serve:DataRoots:0, … or --data-root).
    /// </summary>
    public List<string> DataRoots { get; set; } = [];

    /// <summary>Largest request body accepted, in bytes. Default 65536.</summary>
    [Range(1024, 100_000_000)]
    public long MaxRequestBodyBytes { get; set; } = 65536;

    /// <summary>
    /// Seconds the service waits on SIGTERM for running jobs to finish their step and write a checkpoint. Default 120; make it
    /// longer than a step and a checkpoint take (a service manager's own stop timeout must be longer still).
    /// </summary>
    [Range(1, 86_400)]
    public double ShutdownTimeoutSeconds { get; set; } = 120;

    /// <summary>Seconds between a running job's status figures (images/s, starvation, ETA). Default 2.</summary>
    [Range(0.1, 3600)]
    public double StatusEverySeconds { get; set; } = 2;

    /// <summary>
    /// Free space (MB) the state directory's file system must keep: under it, new jobs get 507, /readyz says why and no job
    /// starts, until space returns. Default 1024.
    /// </summary>
    [Range(0.0, 1e9)]
    public double MinFreeMb { get; set; } = 1024;

    /// <summary>Console logs as one JSON object a line (for a log collector) instead of text. Default false.</summary>
    public bool JsonLogs { get; set; }

    /// <summary>What one job may ask for, checked together when it is submitted (section "Serve:Limits").</summary>
    public ServeLimits Limits { get; set; } = new();
}
