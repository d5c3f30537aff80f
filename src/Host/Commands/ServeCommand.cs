using System.CommandLine;

namespace Contrastive.Host;

/// <summary>`contrastive serve`: the hosted training service (docs/service.md).</summary>
internal static class ServeCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var cmd = new Command("serve", "Run the hosted training service: a job queue (SQLite in --state), a JSON API, a live status page and Prometheus metrics (docs/service.md).");
        var o = new CommandLineOptions(cmd);
        o.Add([
            new OptionSpec("--urls", "Serve:Urls", "Where to listen, separated by ';'; a non-loopback address needs --api-key-file."),
            new OptionSpec("--state", "Serve:State", "State directory: the job database and one folder per job."),
            new OptionSpec("--api-key-file", "Serve:ApiKeyFile", "File holding the API key every /api request must send as 'Authorization: Bearer KEY'.", "none (loopback only)"),
            new OptionSpec("--api-keys-file", "Serve:ApiKeysFile", "File of tenants' keys, one a line: KEY TENANT [max_jobs] [max_processes]; a tenant sees only its own jobs and data.", "none"),
            new OptionSpec("--max-concurrent-jobs", "Serve:MaxConcurrentJobs", "Jobs trained at once."),
            new OptionSpec("--executor", "Serve:Executor", "Where jobs run: local (each job its own processes on this machine; mpirun for several) or slurm (each job an sbatch of srun -n N; Serve:Slurm)."),
            new OptionSpec("--slots", "Serve:Slots", "Processes running at once over all jobs (a job of N processes takes N).", "this machine's cores (slurm: no bound)"),
            new OptionSpec("--on-stop", "Serve:OnStop", "On SIGTERM: checkpoint (running jobs checkpoint and resume at the next start) or detach (they train on; the next start re-attaches)."),
            new OptionSpec("--checkpoint-prefix", "Serve:CheckpointPrefix", "s3://bucket/prefix: each job's checkpoints and metrics also go to PREFIX/jobs/ID.", "unset (the state directory only)"),
            new OptionSpec("--min-free-mb", "Serve:MinFreeMb", "Free space (MB) the state directory must keep: under it new jobs get 507 and none starts."),
            new OptionSpec("--shutdown-timeout", "Serve:ShutdownTimeoutSeconds", "Seconds to wait on SIGTERM for running jobs to checkpoint."),
            new OptionSpec("--json-logs", "Serve:JsonLogs", "Console logs as one JSON object a line."),
        ]);
        var roots = new Option<string[]>("--data-root")
        {
            Description = "A folder (or s3://bucket/prefix) job data must lie under; repeat for several. Default: none, so jobs are refused. [Serve:DataRoots]",
            AllowMultipleArgumentsPerToken = false,
        };
        cmd.Options.Add(roots);
        cmd.SetAction(o, output, error, (c, _, _) => Serve.ServeApp.RunAsync(c.Config),
            parse => (parse.GetValue(roots) ?? []).Select((r, i) => (r, i)).ToDictionary(x => $"Serve:DataRoots:{x.i}", x => (string?)x.r));
        return cmd;
    }
}
