using System.Diagnostics;
using Contrastive.Batching;
using Contrastive.Ingest;
using Contrastive.Training;
using Microsoft.Extensions.Logging;

namespace Contrastive.Host;

/// <summary>What a method plugs into the shared training loop.</summary>
/// <param name="Step">Optimizer steps taken so far (counting those before a resume).</param>
/// <param name="TrainStep">One step on a batch at a schedule progress; returns the loss.</param>
/// <param name="Save">Writes a checkpoint (seconds trained, cursor of the last batch trained on); returns its path.</param>
/// <param name="LogStatus">Writes the periodic status line: mean loss of the last steps, pipeline figures of the interval.</param>
/// <param name="AfterStep">Anything the method tracks per step (CPC's accuracy per k).</param>
/// <param name="LearningRate">The rate of the last step, for the metrics log.</param>
internal sealed record StepHooks(Func<long> Step, Func<Batch, double, double> TrainStep, Func<double, ReadCursor?, string> Save,
    Action<double, PipelineSnapshot> LogStatus, Func<double> LearningRate, Action? AfterStep = null);

/// <summary>How the loop ended.</summary>
internal sealed record LoopOutcome(string? Checkpoint, bool Interrupted, double Seconds, double? MeanLoss, long BadSamples,
    IReadOnlyDictionary<string, long> BadByShard);

/// <summary>The pieces every training run shares (SimCLR, CPC): resume, progress and limits, bad-sample summary.</summary>
internal static class RunSteps
{
    /// <summary>
    /// Trains on the pipeline's batches until a step or time limit, --until-step or a stop signal; checkpoints every
    /// <see cref="TrainingOptions.CheckpointEvery"/> steps and at the end with the cursor of the last batch trained on;
    /// logs a status line every <see cref="TrainingOptions.LogEverySeconds"/>, and every step's loss and rate (with throughput
    /// and starvation at status times) to <paramref name="metrics"/>. Stops the pipeline before the final checkpoint.
    /// </summary>
    public static async Task<LoopOutcome> TrainAsync(InputPipeline pipeline, CancellationTokenSource pipelineStop, StepHooks hooks, TrainingOptions training,
        ReadCursor? cursor, Stopwatch clock, CancellationToken stop, ILogger log, RunLog metrics, int batchSize)
    {
        var recent = new Queue<double>();
        string? checkpoint = null;
        long savedStep = -1;
        bool interrupted = false;
        double lastLog = 0;
        var lastSnapshot = pipeline.Stats.Snapshot();
        long skipped = 0; // bad samples before the cursor of the last batch trained on
        try
        {
            await foreach (var lease in pipeline.ReadAllAsync(pipelineStop.Token).ConfigureAwait(false))
            {
                double loss;
                using (lease)
                {
                    loss = hooks.TrainStep(lease.Batch, ScheduleProgress(training, hooks.Step(), clock.Elapsed.TotalSeconds));
                    cursor = lease.Batch.Resume ?? cursor;
                    skipped = lease.Batch.SkippedBefore;
                }
                recent.Enqueue(loss);
                if (recent.Count > 20) recent.Dequeue();
                hooks.AfterStep?.Invoke();
                double t = clock.Elapsed.TotalSeconds;
                long step = hooks.Step();
                if (t - lastLog >= training.LogEverySeconds)
                {
                    lastLog = t;
                    var now = pipeline.Stats.Snapshot();
                    var interval = now.Since(lastSnapshot);
                    hooks.LogStatus(recent.Average(), interval);
                    lastSnapshot = now;
                    metrics.Write(step, t, ("train/loss", loss), ("train/lr", hooks.LearningRate()),
                        ("train/samples_per_sec", interval.ConsumerBatches * batchSize / Math.Max(1e-9, interval.Elapsed.TotalSeconds)),
                        ("pipeline/starvation", interval.Starvation));
                }
                else
                {
                    metrics.Write(step, t, ("train/loss", loss), ("train/lr", hooks.LearningRate()));
                }
                if (training.CheckpointEvery > 0 && step % training.CheckpointEvery == 0)
                {
                    checkpoint = hooks.Save(t, cursor);
                    savedStep = step;
                }
                if (ShouldStop(training, step, t, stop, log, out interrupted)) break;
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            interrupted = true;
        }
        pipelineStop.Cancel();
        var (bad, byShard) = BadSamples(pipeline, skipped, log);

        double seconds = clock.Elapsed.TotalSeconds;
        if (hooks.Step() > 0 && savedStep != hooks.Step()) checkpoint = hooks.Save(seconds, cursor);
        log.LogInformation("{What} at step {Step} after {Seconds:F0} s; checkpoint {Checkpoint}",
            interrupted ? "Stopped" : "Finished", hooks.Step(), seconds, checkpoint ?? "(none: no step taken)");
        return new LoopOutcome(checkpoint, interrupted, seconds, recent.Count > 0 ? Math.Round(recent.Average(), 5) : null, bad, byShard);
    }

    /// <summary>With --resume, the newest checkpoint in --out that verifies (null, with a warning, when there is none).</summary>
    public static CheckpointData? LatestForResume(TrainingOptions training, CheckpointStore store, ILogger log)
    {
        if (!training.Resume) return null;
        var ckpt = store.LatestIntact(skipped => log.LogWarning("Skipping checkpoint: {Reason}", skipped));
        if (ckpt is null) log.LogWarning("--resume: no intact checkpoint in {Out}; starting from step 0", Path.GetFullPath(training.Out));
        return ckpt;
    }

    public static void LogResumed(ILogger log, CheckpointData ckpt) =>
        log.LogInformation("resumed from step {Step} ({Path}); data from {Cursor}", ckpt.Info.Step, ckpt.Path,
            ckpt.Info.Cursor?.ToString() ?? $"the start of epoch {ckpt.Info.Epoch}");

    /// <summary>Training progress: whichever of the step and time limits is nearer to being reached (0 with neither).</summary>
    public static double Progress(TrainingOptions training, long step, double seconds)
    {
        double p = 0;
        if (training.MaxSteps > 0) p = Math.Max(p, (double)step / training.MaxSteps);
        if (training.MaxMinutes > 0) p = Math.Max(p, seconds / (training.MaxMinutes * 60));
        return p;
    }

    /// <summary>Progress for the learning-rate schedule: with no step or time limit it holds the base rate after warmup's start.</summary>
    public static double ScheduleProgress(TrainingOptions training, long step, double seconds) =>
        training.MaxSteps == 0 && training.MaxMinutes == 0 ? training.WarmupFraction : Progress(training, step, seconds);

    /// <summary>After a step: true to stop; <paramref name="interrupted"/> when the stop came before the run's end (--until-step, a stop signal).</summary>
    public static bool ShouldStop(TrainingOptions training, long step, double seconds, CancellationToken stop, ILogger log, out bool interrupted)
    {
        interrupted = false;
        if ((training.MaxSteps > 0 || training.MaxMinutes > 0) && Progress(training, step, seconds) >= 1) return true;
        if (training.UntilStep > 0 && step >= training.UntilStep)
        {
            log.LogInformation("Reached --until-step {Step}: checkpointing and stopping; --resume continues", training.UntilStep);
            interrupted = true;
            return true;
        }
        interrupted = stop.IsCancellationRequested;
        return interrupted;
    }

    /// <summary>
    /// The bad samples skipped in the data the run trained on (before the last batch's cursor: reproducible, whatever the
    /// pipeline had read ahead), total and per shard, logged as a warning when there were any.
    /// </summary>
    public static (long Total, IReadOnlyDictionary<string, long> ByShard) BadSamples(InputPipeline pipeline, long skipped, ILogger log)
    {
        var byShard = pipeline.SkippedBefore(skipped);
        long total = byShard.Values.Sum();
        if (total > 0)
            log.LogWarning("{Bad} bad sample(s) skipped: {ByShard}; first: {Examples}", total,
                string.Join(", ", byShard.Select(kv => $"{kv.Key}: {kv.Value}")), string.Join("; ", pipeline.Stats.BadExamples.Take(3)));
        return (total, byShard);
    }
}
