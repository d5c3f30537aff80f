using Contrastive.Ingest;
using Contrastive.Training;
using Microsoft.Extensions.Logging;

namespace Contrastive.Host;

/// <summary>
/// One training run of any registered method, start to end: open the data (making the demo set if none was named),
/// resume if asked, stream batches of the method's views through the input pipeline into the shared
/// <see cref="TrainingLoop"/> until a limit or a stop request, checkpoint, then evaluate the trained against the
/// random-init network on the held-out split (kNN for images, a linear probe for series).
/// </summary>
internal sealed partial class TrainRun(TrainSettings settings, ILogger log, RunDisplay? display = null)
{
    /// <summary>What this run records as the holder of its folder's lock (default: this process's command line).</summary>
    public string? LockPurpose { get; init; }

    /// <summary>
    /// Whether the run joins the world an MPI launcher started (data-parallel, the default for `train`); false: always one
    /// process, whatever the environment says (the service's jobs).
    /// </summary>
    public bool JoinLauncherWorld { get; init; } = true;

    /// <summary>Called after every step with (step, loss), from the training thread: live figures for a front end.</summary>
    public Action<long, double>? OnStep { get; init; }

    /// <summary>Called with each periodic status (every Training:LogEverySeconds), from the training thread.</summary>
    public Action<LoopStatus>? OnStatus { get; init; }

    /// <summary>
    /// The run, then its trace (with --trace) and its report: report.html in --out (and where --report says) at the end of
    /// every run, and each rank's result there (rank 0's in result.json). A data-parallel rank that fails ends the whole job.
    /// </summary>
    public async Task<TrainResult> RunAsync(CancellationToken stop)
    {
        var group = JoinLauncherWorld ? OpenGroup(settings.Data) : SingleProcessGroup.Instance;
        var trace = settings.Profile.NewRecorder();
        TrainResult? result = null;
        string outDir = settings.Training.Out;
        bool started = false; // the folder is this run's (a refused run writes nothing there, not even a report)
        try
        {
            // --out s3://bucket/prefix: rank 0 works in a local folder and copies each checkpoint (and the metrics) to the bucket.
            var remote = group.Rank == 0 && ObjectStore.IsS3(settings.Training.Out)
                ? new S3RunFolder(settings.Training.Out, settings.Training.KeepCheckpoints, log, settings.ObjectStore.WorkFolder, settings.ObjectStore) : null;
            outDir = remote?.LocalFolder ?? settings.Training.Out;
            // One writer per run folder, held until the run ends (a second train on the folder is refused, naming this
            // process). Data-parallel ranks other than 0 write only their result file there (result.rankR.json).
            using (var folderLock = group.Rank == 0 ? RunFolderLock.Acquire(outDir, $"--out {settings.Training.Out}", LockPurpose) : null)
            {
                started = true;
                if (remote is not null && settings.Training.Resume) await remote.FetchForResumeAsync(stop).ConfigureAwait(false);
                result = await RunLockedAsync(group, trace, outDir, remote, stop).ConfigureAwait(false);
                if (remote is not null)
                {
                    remote.UploadMetrics(); // with the evaluation's rows
                    result = result with { Checkpoint = result.Checkpoint is null ? null : remote.UriOf(result.Checkpoint) };
                }
            }
        }
        catch (Exception e) when (group is MpiProcessGroup mpi)
        {
            // The other ranks would wait for this one in their next collective: end the whole job, saying why.
            log.LogCritical("Rank {Rank} of {World} failed: {Message}. Ending every rank (MPI_Abort).", group.Rank, group.WorldSize, e.Message);
            Console.Error.Flush();
            mpi.Abort(e is UsageException ? 2 : 1);
            throw;
        }
        finally
        {
            if (started)
            {
                string? report = WriteProfile(group, trace, result, outDir);
                if (result is not null) result = result with { Report = report };
                // Every rank leaves its result in the run folder (rank 0's as result.json); not in object storage.
                if (result is not null && !ObjectStore.IsS3(outDir) && RunResultFile.TryWrite(outDir, result, group.Rank) is { } error)
                    log.LogWarning("Cannot write {File} in {Folder} ({Error}); the result is on the output only", RunResultFile.NameFor(group.Rank), outDir, error);
            }
        }
        group.Dispose();
        return result;
    }

    /// <summary>The run in its named steps: open data → build or resume → choose the processor → train → evaluate (the report follows in <see cref="RunAsync"/>).</summary>
    private async Task<TrainResult> RunLockedAsync(IProcessGroup group, TraceRecorder? trace, string outDir, S3RunFolder? remote, CancellationToken stop)
    {
        var data = await OpenDataAsync(group, stop).ConfigureAwait(false);
        using var model = BuildOrResume(group, data, outDir, remote);
        var processor = ChooseProcessor(data);
        // Rank 0 keeps the run's metrics (the others train the same model on other samples). A resume (even one that found
        // no checkpoint and starts over) drops the rows logged after the step it continues from.
        using var metrics = group.Rank == 0 ? new MetricsLog(outDir, settings.Training.Resume ? model.ResumedFrom ?? 0 : null) : null;
        using var online = await OnlineEvaluation.PrepareAsync(settings, data, model.Trainer.Method, group.Rank, Decoders, log, stop).ConfigureAwait(false);
        var (outcome, result) = await TrainAsync(group, data, model, processor, metrics, online, trace, outDir, stop).ConfigureAwait(false);
        if (online is not null)
            result = result with { OnlineEval = online.Points, OnlineEvalSeconds = Math.Round(online.Seconds, 3), OnlineEvalPrepareSeconds = Math.Round(online.PrepareSeconds, 3) };
        // The models are the same on every rank: rank 0 evaluates.
        if (outcome.Interrupted || !data.Dataset.HasLabels || data.Split.Fraction <= 0 || group.Rank != 0) return result;
        return await new TrainEvaluation(settings, log, Decoders()).RunAsync(data, model, outcome.Seconds, metrics!, result, trace, stop).ConfigureAwait(false);
    }

    /// <summary>
    /// The processes training together: one, or the ranks an MPI launcher started (<see cref="LaunchEnvironment"/>), joined
    /// through Open MPI. Data:Rank / Data:WorldSize, when set, must agree with the launcher's.
    /// </summary>
    private IProcessGroup OpenGroup(DataOptions data)
    {
        LaunchEnvironment launch;
        try { launch = HostEnvironment.Launch(); }
        catch (DistributedSetupException e) { throw new UsageException(e.Message, e); }
        if (!launch.Distributed) return SingleProcessGroup.Instance;
        if (data.WorldSize != 1 && (data.WorldSize != launch.WorldSize || data.Rank != launch.Rank))
            throw new UsageException($"Data:WorldSize {data.WorldSize} / Data:Rank {data.Rank} disagree with the launcher ({launch}); leave them unset under mpirun or srun.");
        try { return MpiProcessGroup.Open(launch, HostEnvironment.MpiLibrary); }
        catch (DistributedSetupException e) { throw new UsageException($"This process is {launch}: {e.Message}", e); }
    }
}
