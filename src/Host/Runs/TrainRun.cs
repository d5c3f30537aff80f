using System.Diagnostics;
using Contrastive.Augment;
using Contrastive.Batching;
using Contrastive.Ingest;
using Contrastive.Training;
using Microsoft.Extensions.Logging;
using TorchSharp;

namespace Contrastive.Host;

/// <summary>
/// One training run, start to end: open the data (making the demo set if none was named), resume if asked,
/// stream two-view batches through the input pipeline into the trainer until a step or time limit or a stop
/// request, checkpoint, then evaluate the trained and the random-init encoder by kNN on the held-out split.
/// </summary>
public sealed class TrainRun(DataOptions data, TrainingOptions training, BatchingOptions batching, SimClrViewOptions views, ILogger log)
{
    public async Task<TrainResult> RunAsync(CancellationToken stop)
    {
        string uri = await DemoDataset.EnsureAsync(data, m => log.LogInformation("{Message}", m), stop).ConfigureAwait(false);
        if (data.Rank >= data.WorldSize)
            throw new UsageException($"Data:Rank ({data.Rank}) must be below Data:WorldSize ({data.WorldSize}) (RANK / WORLD_SIZE).");
        IImageDataset dataset;
        try
        {
            dataset = await ImageDataset.OpenAsync(uri, data.ImageColumn, data.LabelColumn, stop).ConfigureAwait(false);
        }
        catch (DataSourceException e)
        {
            throw new UsageException($"--data: {e.Message}", e);
        }
        log.LogInformation("Data {Uri}: {Format}, {Shards} shard(s), {Samples} samples, columns {Columns}, labels: {Labels}",
            uri, dataset.Format, dataset.ShardCount, dataset.SampleCount, string.Join(", ", dataset.Columns.Select(c => $"{c.Key} = {c.Value}")),
            dataset.HasLabels ? "yes" : "none");

        if (training.Threads > 0) torch.set_num_threads(training.Threads);
        var device = TorchDevice.Resolve(training.Device);
        var split = dataset.HasLabels ? new HoldoutSplit(training.HoldoutFraction) : HoldoutSplit.None;
        var store = new CheckpointStore(training.Out, training.KeepCheckpoints);
        using var trainer = new SimClrTrainer(training, views.Size, device);

        int epoch = 0;
        ReadCursor? cursor = null;
        long? resumedFrom = null;
        if (RunSteps.LatestForResume(training, store, log) is { } ckpt)
        {
            trainer.Restore(ckpt);
            epoch = ckpt.Info.Epoch;
            cursor = ckpt.Info.Cursor;
            resumedFrom = trainer.Step;
            RunSteps.LogResumed(log, ckpt);
        }

        var policy = new SimClrViewPolicy(views);
        var clock = Stopwatch.StartNew();
        long startStep = trainer.Step;
        var recent = new Queue<double>();
        string? checkpoint = null;
        long savedStep = -1;
        bool interrupted = false;
        int currentEpoch = epoch;
        long badSamples;
        IReadOnlyDictionary<string, long> badByShard;

        using (var pipelineStop = CancellationTokenSource.CreateLinkedTokenSource(stop))
        {
            await using var pipeline = InputPipeline.Start(
                dataset.ReadEpochsAsync(e => new ReadPlan(e, training.Seed, Shuffle: true, split, Rank: data.Rank, WorldSize: data.WorldSize), epoch, e => currentEpoch = e,
                    from: cursor),
                batching, new PipelineSettings(policy, training.Seed, DropLast: true), pipelineStop.Token);
            log.LogInformation("Training {Method}/{Encoder} on {Device}: batch {Batch} x 2 views at {Size}px, {Workers} worker(s) ({Decoder} decoder), torch threads {Threads}; batch memory {Mb:F1} MB in {Buffers} buffers",
                training.Method, training.Encoder, device.type, batching.BatchSize, views.Size, batching.EffectiveWorkers, pipeline.DecoderName,
                torch.get_num_threads(), pipeline.Pool.TotalBytes / 1e6, pipeline.Pool.Buffers);
            double lastLog = 0;
            var lastSnapshot = pipeline.Stats.Snapshot();
            try
            {
                await foreach (var lease in pipeline.ReadAllAsync(pipelineStop.Token).ConfigureAwait(false))
                {
                    double loss;
                    using (lease)
                    {
                        // With no step or time limit the schedule holds the base rate after warmup's start.
                        double progress = RunSteps.ScheduleProgress(training, trainer.Step, clock.Elapsed.TotalSeconds);
                        loss = trainer.TrainStep(lease.Batch, progress);
                        cursor = lease.Batch.Resume ?? cursor;
                    }
                    recent.Enqueue(loss);
                    if (recent.Count > 20) recent.Dequeue();

                    double t = clock.Elapsed.TotalSeconds;
                    if (t - lastLog >= training.LogEverySeconds)
                    {
                        lastLog = t;
                        var now = pipeline.Stats.Snapshot();
                        var interval = now.Since(lastSnapshot);
                        lastSnapshot = now;
                        log.LogInformation("step {Step} epoch {Epoch} loss {Loss:F4} lr {Lr:G3} | trained {Rate:F0} img/s, waited for data {Wait:P1} | pipeline: {Pipeline}",
                            trainer.Step, currentEpoch, recent.Average(), trainer.LastLearningRate, interval.ConsumerBatches * batching.BatchSize / Math.Max(1e-9, interval.Elapsed.TotalSeconds),
                            interval.Starvation, interval.Summary());
                    }
                    if (training.CheckpointEvery > 0 && trainer.Step % training.CheckpointEvery == 0)
                    {
                        checkpoint = trainer.SaveCheckpoint(store, currentEpoch, t, cursor);
                        savedStep = trainer.Step;
                    }
                    if (RunSteps.ShouldStop(training, trainer.Step, t, stop, log, out interrupted)) break;
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                interrupted = true;
            }
            (badSamples, badByShard) = RunSteps.BadSamples(pipeline.Stats, log);
            pipelineStop.Cancel();
        }

        double seconds = clock.Elapsed.TotalSeconds;
        if (trainer.Step > 0 && savedStep != trainer.Step)
            checkpoint = trainer.SaveCheckpoint(store, currentEpoch, seconds, cursor);
        log.LogInformation("{What} at step {Step} after {Seconds:F0} s; checkpoint {Checkpoint}",
            interrupted ? "Stopped" : "Finished", trainer.Step, seconds, checkpoint ?? "(none: no step taken)");

        double? knn = null, knnRandom = null;
        if (!interrupted && dataset.HasLabels && split.Fraction > 0)
        {
            log.LogInformation("kNN evaluation (k={K}, T={T}) on the held-out {Fraction:P0}: trained vs random-init encoder", training.KnnK, training.KnnTemperature, split.Fraction);
            using var random = SimClrTrainer.CreateModel(training, device);
            Encoder[] encoders = [trainer.Model.Encoder, random.Encoder];
            var bank = await FeaturePass.RunAsync(dataset, new ReadPlan(0, training.Seed, false, split, HeldOut: false), training.KnnBankSize,
                views.Size, batching, encoders, device, stop).ConfigureAwait(false);
            var test = await FeaturePass.RunAsync(dataset, new ReadPlan(0, training.Seed, false, split, HeldOut: true), long.MaxValue,
                views.Size, batching, encoders, device, stop).ConfigureAwait(false);
            knn = KnnClassifier.Top1(bank[0].Features, bank[0].Labels, test[0].Features, test[0].Labels, training.KnnK, training.KnnTemperature);
            knnRandom = KnnClassifier.Top1(bank[1].Features, bank[1].Labels, test[1].Features, test[1].Labels, training.KnnK, training.KnnTemperature);
            log.LogInformation("kNN top-1: trained {Trained:F4}, random init {Random:F4} ({Bank} bank, {Test} test samples)", knn, knnRandom, bank[0].Labels.shape[0], test[0].Labels.shape[0]);
            foreach (var (f, l) in bank.Concat(test)) { f.Dispose(); l.Dispose(); }
        }

        return new TrainResult
        {
            Steps = trainer.Step,
            Samples = trainer.Samples,
            Seconds = Math.Round(seconds, 2),
            FinalLoss = recent.Count > 0 ? Math.Round(recent.Average(), 5) : null,
            KnnTop1 = knn,
            KnnTop1RandomInit = knnRandom,
            Checkpoint = checkpoint is null ? null : Path.GetFullPath(checkpoint),
            BadSamples = badSamples,
            BadSamplesByShard = badByShard,
            ResumedFromStep = resumedFrom,
            Interrupted = interrupted,
        };
    }

}
