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
public sealed class TrainRun(DataOptions data, TrainingOptions training, BatchingOptions batching, SimClrViewOptions views, ILogger log,
    MultiCropViewOptions? multiCrop = null)
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
        if (training.Method == "supcon" && !dataset.HasLabels)
            throw new UsageException($"--method supcon needs labels, and the data at '{uri}' has none ({string.Join(", ", dataset.Columns.Select(c => $"{c.Key} = {c.Value}"))}).");
        var split = dataset.HasLabels ? new HoldoutSplit(training.HoldoutFraction) : HoldoutSplit.None;
        var store = new CheckpointStore(training.Out, training.KeepCheckpoints);
        using var trainer = new SimClrTrainer(training, views.Size, device, batching.BatchSize);

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

        IViewPolicy policy = training.Method == "dino" ? new MultiCropViewPolicy(views, multiCrop ?? new MultiCropViewOptions()) : new SimClrViewPolicy(views);
        var clock = Stopwatch.StartNew();
        int currentEpoch = epoch;
        LoopOutcome outcome;
        using var metrics = new RunLog(training.Out);
        using (var pipelineStop = CancellationTokenSource.CreateLinkedTokenSource(stop))
        {
            await using var pipeline = InputPipeline.Start(
                dataset.ReadEpochsAsync(e => new ReadPlan(e, training.Seed, Shuffle: true, split, Rank: data.Rank, WorldSize: data.WorldSize), epoch, e => currentEpoch = e,
                    from: cursor),
                batching, new PipelineSettings(policy, training.Seed, DropLast: true), pipelineStop.Token);
            log.LogInformation("Training {Method}/{Encoder} on {Device}: batch {Batch} x {Views} at {Size}px, {Workers} worker(s) ({Decoder} decoder), torch threads {Threads}; {Precision}; {Optimizer} peak lr {Lr:g4}; batch memory {Mb:F1} MB in {Buffers} buffers",
                training.Method, training.Encoder, device.type, batching.BatchSize,
                policy is MultiCropViewPolicy mc ? $"2 global + {mc.ViewCount - 2} local views ({mc.LocalSize}px)" : "2 views", views.Size, batching.EffectiveWorkers, pipeline.DecoderName,
                torch.get_num_threads(), trainer.PrecisionName, training.Optimizer, trainer.LearningRate, pipeline.Pool.TotalBytes / 1e6, pipeline.Pool.Buffers);
            var hooks = new StepHooks(
                () => trainer.Step,
                trainer.TrainStep,
                (seconds, at) => trainer.SaveCheckpoint(store, currentEpoch, seconds, at),
                (loss, interval) => log.LogInformation("step {Step} epoch {Epoch} loss {Loss:F4} lr {Lr:G3} | trained {Rate:F0} img/s, waited for data {Wait:P1} | pipeline: {Pipeline}",
                    trainer.Step, currentEpoch, loss, trainer.LastLearningRate, interval.ConsumerBatches * batching.BatchSize / Math.Max(1e-9, interval.Elapsed.TotalSeconds),
                    interval.Starvation, interval.Summary()),
                () => trainer.LastLearningRate);
            outcome = await RunSteps.TrainAsync(pipeline, pipelineStop, hooks, training, cursor, clock, stop, log, metrics, batching.BatchSize).ConfigureAwait(false);
        }
        bool interrupted = outcome.Interrupted;

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
            metrics.Write(trainer.Step, outcome.Seconds, ("eval/knn_top1", knn.Value), ("eval/knn_top1_random_init", knnRandom.Value));
            foreach (var (f, l) in bank.Concat(test)) { f.Dispose(); l.Dispose(); }
        }

        return new TrainResult
        {
            Steps = trainer.Step,
            Samples = trainer.Samples,
            Seconds = Math.Round(outcome.Seconds, 2),
            FinalLoss = outcome.MeanLoss,
            KnnTop1 = knn,
            KnnTop1RandomInit = knnRandom,
            Checkpoint = outcome.Checkpoint is null ? null : Path.GetFullPath(outcome.Checkpoint),
            BadSamples = outcome.BadSamples,
            BadSamplesByShard = outcome.BadByShard,
            ResumedFromStep = resumedFrom,
            Interrupted = interrupted,
        };
    }

}
