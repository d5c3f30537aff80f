using System.Diagnostics;
using Contrastive.Augment;
using Contrastive.Ingest;

namespace Contrastive.Training;

/// <summary>
/// The training loop every method and every front end (the CLI, the service, a library user) shares: takes batches from
/// an <see cref="IBatchSource"/> into a <see cref="ContrastiveTrainer"/> until a step or time limit, --until-step or a stop
/// request; checkpoints every <see cref="TrainingOptions.CheckpointEvery"/> steps and at the end, with the cursor of the
/// last batch trained on; reports a <see cref="LoopStatus"/> every <see cref="TrainingOptions.LogEverySeconds"/> and each
/// step's figures to an optional <see cref="MetricsLog"/>.
/// </summary>
public sealed class TrainingLoop(ContrastiveTrainer trainer, CheckpointStore store)
{
    /// <summary>Called with each periodic status.</summary>
    public Action<LoopStatus>? Status { get; init; }

    /// <summary>Called with notable events in words (reaching --until-step, the end).</summary>
    public Action<string>? Message { get; init; }

    /// <summary>Called after every step (step, loss): a place for per-step bookkeeping.</summary>
    public Action<long, double>? AfterStep { get; init; }

    /// <summary>Where each step's loss and rate (and at status times throughput and waiting) go; null: nowhere.</summary>
    public MetricsLog? Metrics { get; init; }

    /// <summary>Called once the loop takes no more batches, before the final checkpoint (stop reading ahead there).</summary>
    public Action? InputDone { get; init; }

    /// <summary>Where the loop records its spans (wait for batch, step, checkpoint) on the trainer's lane; null: no trace.</summary>
    public TraceRecorder? Trace { get; init; }

    private readonly TrainingOptions _o = trainer.Options;

    /// <summary>Runs the loop. <paramref name="clock"/> counts this run's time (started now when null).</summary>
    public async Task<LoopResult> RunAsync(IBatchSource source, ReadCursor? cursor, CancellationToken stop, Stopwatch? clock = null)
    {
        clock ??= Stopwatch.StartNew();
        var recent = new Queue<double>();
        string? checkpoint = null;
        long savedStep = -1;
        bool interrupted = false;
        double lastStatus = clock.Elapsed.TotalSeconds, waited = 0, waitedSinceStatus = 0;
        long samplesAtStatus = trainer.Samples;
        long skipped = 0;
        var diversity = new BatchDiversityMeter();
        var group = trainer.Group;
        bool distributed = group.WorldSize > 1;
        // Ranks stop together: a stop request is agreed before each step (below), so the input is not cancelled by it.
        var enumerator = source.ReadAllAsync(distributed ? CancellationToken.None : stop).GetAsyncEnumerator(distributed ? CancellationToken.None : stop);
        int lane = Trace?.Lane(TraceRecorder.TrainerLane) ?? 0;
        trainer.Trace ??= Trace;
        // A resumed run already at its step limit (or --until-step) takes no further step: it only ends (a service
        // restarted during a finished run's evaluation resumes it so). Equal on every rank.
        bool done = trainer.Step > 0 && StepLimitReached(trainer.Step, out interrupted, announce: false);
        try
        {
            while (!done)
            {
                long t0 = Stopwatch.GetTimestamp();
                bool has = await enumerator.MoveNextAsync().ConfigureAwait(false);
                Trace?.Complete(lane, "wait for batch", t0, Stopwatch.GetTimestamp());
                double w = Stopwatch.GetElapsedTime(t0).TotalSeconds; // waiting for data, not for the other ranks
                double agreedSeconds = clock.Elapsed.TotalSeconds;
                if (distributed)
                {
                    long a0 = Stopwatch.GetTimestamp();
                    var agreed = await AgreeAsync(group, enumerator, has, stop, clock).ConfigureAwait(false);
                    Trace?.Complete(lane, "agree (all-reduce)", a0, Stopwatch.GetTimestamp());
                    has = agreed.Train;
                    agreedSeconds = agreed.Seconds;
                    DroppedBatches += agreed.Dropped;
                    if (!has)
                    {
                        interrupted = agreed.Interrupted;
                        if (agreed.Interrupted) Message?.Invoke(agreed.Why);
                        break;
                    }
                }
                else if (!has) break;
                waited += w;
                waitedSinceStatus += w;
                double loss;
                using (var lease = enumerator.Current)
                {
                    diversity.Add(lease.Batch);
                    using (Trace.Span(lane, "step", Trace is null ? null : $"{{\"step\":{trainer.Step + 1},\"samples\":{lease.Batch.Count}}}"))
                        loss = trainer.TrainStep(lease.Batch, ScheduleProgress(trainer.Step, agreedSeconds));
                    cursor = lease.Batch.Resume ?? cursor;
                    skipped = lease.Batch.SkippedBefore;
                }
                recent.Enqueue(loss);
                if (recent.Count > 20) recent.Dequeue();
                long step = trainer.Step;
                AfterStep?.Invoke(step, loss);
                double t = clock.Elapsed.TotalSeconds;
                var extra = trainer.Method.LastMetrics;
                if (t - lastStatus >= _o.LogEverySeconds)
                {
                    double interval = Math.Max(1e-9, t - lastStatus);
                    double rate = (trainer.Samples - samplesAtStatus) / interval;
                    double wait = Math.Clamp(waitedSinceStatus / interval, 0, 1);
                    Metrics?.Write(step, t, [("train/loss", loss), ("train/lr", trainer.LastLearningRate), ("train/samples_per_sec", rate), ("pipeline/starvation", wait), .. extra]);
                    double? progress = HasLimit ? Math.Min(1, Progress(step, t)) : null;
                    Status?.Invoke(new LoopStatus(step, cursor?.Epoch ?? 0, recent.Average(), trainer.LastLearningRate, rate, wait, progress,
                        Eta(step, t, rate), t, skipped, source.Describe(), diversity.Snapshot()));
                    lastStatus = t;
                    waitedSinceStatus = 0;
                    samplesAtStatus = trainer.Samples;
                }
                else
                {
                    Metrics?.Write(step, t, [("train/loss", loss), ("train/lr", trainer.LastLearningRate), .. extra]);
                }
                if (_o.CheckpointEvery > 0 && step % _o.CheckpointEvery == 0)
                {
                    using (Trace.Span(lane, "checkpoint"))
                        checkpoint = trainer.SaveCheckpoint(store, t, cursor);
                    savedStep = step;
                }
                // Distributed: only the step limits here (equal on every rank); time and stop requests are agreed before the next step.
                if (distributed ? StepLimitReached(step, out interrupted) : ShouldStop(step, t, stop, out interrupted)) break;
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested && !distributed)
        {
            interrupted = true;
        }
        finally
        {
            await enumerator.DisposeAsync().ConfigureAwait(false);
        }
        InputDone?.Invoke();
        var byShard = source.SkippedBefore(skipped);
        double seconds = clock.Elapsed.TotalSeconds;
        if (trainer.Step > 0 && savedStep != trainer.Step)
            using (Trace.Span(lane, "checkpoint"))
                checkpoint = trainer.SaveCheckpoint(store, seconds, cursor);
        Message?.Invoke($"{(interrupted ? "Stopped" : "Finished")} at step {trainer.Step} after {seconds:F0} s; checkpoint {checkpoint ?? "(none: no step taken)"}");
        return new LoopResult(checkpoint, interrupted, seconds, recent.Count > 0 ? Math.Round(recent.Average(), 5) : null,
            seconds > 0 ? Math.Round(Math.Clamp(waited / seconds, 0, 1), 4) : 0, byShard.Values.Sum(), byShard, cursor, diversity.Snapshot());
    }

    private bool HasLimit => _o.MaxSteps > 0 || _o.MaxMinutes > 0;

    /// <summary>Data-parallel runs: batches a rank dropped because another rank had already begun the next epoch.</summary>
    public long DroppedBatches { get; private set; }

    private readonly record struct Agreement(bool Train, double Seconds, bool Interrupted, string Why, long Dropped);

    /// <summary>
    /// Data-parallel runs: before every step the ranks agree (one small all-reduce of the maximum) on whether any rank's
    /// input has ended (then all stop: equal step counts), whether any was asked to stop (then all stop at this step and
    /// checkpoint), the elapsed time (the slowest rank's, for the schedule and the time limit) and the epoch: a rank still
    /// in an earlier epoch than another drops its batches until it reaches that epoch, so an epoch ends for all when the
    /// first rank runs out of it.
    /// </summary>
    private async Task<Agreement> AgreeAsync(IProcessGroup group, IAsyncEnumerator<BatchLease> input, bool has, CancellationToken stop, Stopwatch clock)
    {
        long dropped = 0;
        while (true)
        {
            int epoch = has ? input.Current.Batch.Resume?.Epoch ?? 0 : -1;
            // One maximum gives both ends of the epochs: the largest, and (negated) the smallest.
            var v = new double[] { has ? 0 : 1, stop.IsCancellationRequested ? 1 : 0, clock.Elapsed.TotalSeconds, epoch, -epoch };
            group.AllReduce<double>(v, ReduceOp.Max);
            bool ended = v[0] > 0, stopped = v[1] > 0;
            double seconds = v[2];
            if (ended || stopped || (HasLimit && Progress(trainer.Step, seconds) >= 1))
            {
                if (has) input.Current.Dispose();
                string why = stopped ? $"Stop requested on {(stop.IsCancellationRequested ? "this rank" : "another rank")}: all ranks stop at step {trainer.Step}"
                    : ended ? $"A rank's input ended: all ranks stop at step {trainer.Step}" : "";
                return new Agreement(false, seconds, stopped, why, dropped);
            }
            int newest = (int)v[3], oldest = (int)-v[4];
            if (newest == oldest) return new Agreement(true, seconds, false, "", dropped);
            // Every rank takes part in the next round; only those behind the newest epoch move on.
            if (epoch < newest)
            {
                input.Current.Dispose();
                dropped++;
                has = await input.MoveNextAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Whether a step limit is reached: --max-steps (a finished run) or --until-step (interrupted, said when <paramref name="announce"/>).</summary>
    private bool StepLimitReached(long step, out bool interrupted, bool announce = true)
    {
        interrupted = false;
        if (_o.MaxSteps > 0 && step >= _o.MaxSteps) return true;
        if (_o.UntilStep > 0 && step >= _o.UntilStep)
        {
            if (announce) Message?.Invoke($"Reached --until-step {_o.UntilStep}: checkpointing and stopping; --resume continues");
            interrupted = true;
            return true;
        }
        return false;
    }

    /// <summary>Training progress: whichever of the step and time limits is nearer to being reached (0 with neither).</summary>
    public double Progress(long step, double seconds)
    {
        double p = 0;
        if (_o.MaxSteps > 0) p = Math.Max(p, (double)step / _o.MaxSteps);
        if (_o.MaxMinutes > 0) p = Math.Max(p, seconds / (_o.MaxMinutes * 60));
        return p;
    }

    /// <summary>Progress for the learning-rate schedule: with no step or time limit it holds the base rate after warmup's start.</summary>
    public double ScheduleProgress(long step, double seconds) => HasLimit ? Progress(step, seconds) : _o.WarmupFraction;

    private double? Eta(long step, double seconds, double samplesPerSecond)
    {
        double? eta = null;
        if (_o.MaxMinutes > 0) eta = Math.Max(0, _o.MaxMinutes * 60 - seconds);
        long target = _o.UntilStep > 0 && (_o.MaxSteps == 0 || _o.UntilStep < _o.MaxSteps) ? _o.UntilStep : _o.MaxSteps;
        if (target > 0 && samplesPerSecond > 0 && trainer.Samples > 0)
        {
            double stepsPerSecond = samplesPerSecond / Math.Max(1.0, (double)trainer.Samples / Math.Max(1, step));
            double bySteps = Math.Max(0, target - step) / Math.Max(1e-9, stepsPerSecond);
            eta = eta is null ? bySteps : Math.Min(eta.Value, bySteps);
        }
        return eta;
    }

    private bool ShouldStop(long step, double seconds, CancellationToken stop, out bool interrupted)
    {
        interrupted = false;
        if (HasLimit && Progress(step, seconds) >= 1) return true;
        if (StepLimitReached(step, out interrupted)) return true;
        interrupted = stop.IsCancellationRequested;
        return interrupted;
    }
}
