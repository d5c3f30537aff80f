using Contrastive.Batching;
using Contrastive.Training;
using Microsoft.Extensions.Logging;

namespace Contrastive.Host;

/// <summary>The pieces every training run shares (SimCLR, CPC): resume, progress and limits, bad-sample summary.</summary>
internal static class RunSteps
{
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

    /// <summary>The run's bad samples, total and per shard, logged as a warning when there were any.</summary>
    public static (long Total, IReadOnlyDictionary<string, long> ByShard) BadSamples(PipelineStats stats, ILogger log)
    {
        long total = stats.BadSamples;
        var byShard = stats.BadByShard;
        if (total > 0)
            log.LogWarning("{Bad} bad sample(s) skipped: {ByShard}; first: {Examples}", total,
                string.Join(", ", byShard.Select(kv => $"{kv.Key}: {kv.Value}")), string.Join("; ", stats.BadExamples.Take(3)));
        return (total, byShard);
    }
}
