using System.Diagnostics;
using Contrastive.Augment;
using Contrastive.Batching;
using Contrastive.Ingest;
using Contrastive.Training;
using Microsoft.Extensions.Logging;
using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Host;

/// <summary>
/// `train --method cpc`: time-series Parquet (the demo series when no data is named) → random augmented windows
/// through the input pipeline → CPC steps; checkpoints with the read cursor, resume, stop signals and --until-step as
/// for SimCLR; then a linear probe on the held-out series for the trained and the random-init encoder.
/// </summary>
public sealed class CpcRun(DataOptions data, TrainingOptions training, BatchingOptions batching, SeriesWindowOptions series, CpcTrainingOptions cpc, ILogger log)
{
    public async Task<TrainResult> RunAsync(CancellationToken stop)
    {
        string uri = data.Uri;
        if (string.IsNullOrWhiteSpace(uri))
        {
            uri = data.DemoSeriesPath;
            if (!File.Exists(Path.Combine(uri, ".complete")))
            {
                log.LogInformation("No --data given: writing the demo series (2400 series of 16000 samples, 6 classes) to {Dir}", Path.GetFullPath(uri));
                await DemoSeriesGenerator.WriteAsync(uri, 2400, 16000, 0, null, stop).ConfigureAwait(false);
                await File.WriteAllTextAsync(Path.Combine(uri, ".complete"), "2400 series, seed 0\n", stop).ConfigureAwait(false);
            }
        }
        if (data.Rank >= data.WorldSize)
            throw new UsageException($"Data:Rank ({data.Rank}) must be below Data:WorldSize ({data.WorldSize}) (RANK / WORLD_SIZE).");
        IImageDataset dataset;
        int channels;
        try
        {
            var columns = data.SeriesColumns?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            (dataset, channels) = await SeriesData.OpenAsync(uri, columns, data.LabelColumn, stop).ConfigureAwait(false);
        }
        catch (DataSourceException e)
        {
            throw new UsageException($"--data: {e.Message}", e);
        }
        log.LogInformation("Data {Uri}: {Format}, {Shards} shard(s), {Samples} series, {Channels} channel(s), columns {Columns}, labels: {Labels}",
            uri, dataset.Format, dataset.ShardCount, dataset.SampleCount, channels, string.Join(", ", dataset.Columns.Select(c => $"{c.Key} = {c.Value}")),
            dataset.HasLabels ? "yes" : "none");

        if (training.Threads > 0) torch.set_num_threads(training.Threads);
        var device = TorchDevice.Resolve(training.Device);
        var split = dataset.HasLabels ? new HoldoutSplit(training.HoldoutFraction) : HoldoutSplit.None;
        var store = new CheckpointStore(training.Out, training.KeepCheckpoints);
        var modelOptions = cpc.ToModelOptions(channels);
        CpcTrainer trainer;
        try { trainer = new CpcTrainer(training, modelOptions, series.Length, device); }
        catch (ArgumentException e) { throw new UsageException($"--window / Series:Length: {e.Message}", e); }
        using var _ = trainer;

        ReadCursor? cursor = null;
        long? resumedFrom = null;
        if (RunSteps.LatestForResume(training, store, log) is { } ckpt)
        {
            trainer.Restore(ckpt);
            cursor = ckpt.Info.Cursor;
            resumedFrom = trainer.Step;
            RunSteps.LogResumed(log, ckpt);
        }

        var policy = new SeriesWindowPolicy(series);
        var clock = Stopwatch.StartNew();
        var recentAccuracy = new Queue<double[]>();
        LoopOutcome outcome;
        using var metrics = new RunLog(training.Out);
        using (var pipelineStop = CancellationTokenSource.CreateLinkedTokenSource(stop))
        {
            await using var pipeline = InputPipeline.Start(
                dataset.ReadEpochsAsync(e => new ReadPlan(e, training.Seed, Shuffle: true, split, Rank: data.Rank, WorldSize: data.WorldSize), from: cursor),
                batching, new PipelineSettings(new SeriesSampleProcessor(policy, channels), training.Seed, DropLast: true), pipelineStop.Token);
            log.LogInformation("Training cpc on {Device}: batch {Batch} windows of {Channels} x {Length} ({Steps} encoded steps, predicting {K} ahead, {Negatives} negatives), " +
                "encoder {Enc} channels, context {Ctx}; {Workers} worker(s); batch memory {Mb:F1} MB",
                device.type, batching.BatchSize, channels, series.Length, series.Length / modelOptions.Downsampling, modelOptions.PredictionSteps,
                modelOptions.Negatives, modelOptions.EncoderChannels, modelOptions.ContextDim, batching.EffectiveWorkers, pipeline.Pool.TotalBytes / 1e6);
            var hooks = new StepHooks(
                () => trainer.Step,
                trainer.TrainStep,
                (seconds, at) => trainer.SaveCheckpoint(store, seconds, at),
                (loss, interval) =>
                {
                    var acc = MeanAccuracy(recentAccuracy);
                    log.LogInformation("step {Step} loss {Loss:F4} accuracy k=1 {A1:P1} k={K} {AK:P1} lr {Lr:G3} | trained {Rate:F0} windows/s, waited for data {Wait:P1} | pipeline: {Pipeline}",
                        trainer.Step, loss, acc[0], acc.Length, acc[^1], trainer.LastLearningRate,
                        interval.ConsumerBatches * batching.BatchSize / Math.Max(1e-9, interval.Elapsed.TotalSeconds), interval.Starvation, interval.Summary());
                },
                () => trainer.LastLearningRate,
                () =>
                {
                    recentAccuracy.Enqueue(trainer.LastAccuracy);
                    if (recentAccuracy.Count > 20) recentAccuracy.Dequeue();
                });
            outcome = await RunSteps.TrainAsync(pipeline, pipelineStop, hooks, training, cursor, clock, stop, log, metrics, batching.BatchSize).ConfigureAwait(false);
        }
        if (recentAccuracy.Count > 0)
            metrics.Write(trainer.Step, outcome.Seconds, [.. MeanAccuracy(recentAccuracy).Select((a, i) => ($"cpc/accuracy_k{i + 1}", a))]);
        if (recentAccuracy.Count > 0)
            log.LogInformation("Prediction accuracy by steps ahead (last {N} steps): {PerK}", recentAccuracy.Count,
                string.Join(", ", MeanAccuracy(recentAccuracy).Select((a, i) => $"k={i + 1} {a:P1}")));
        bool interrupted = outcome.Interrupted;

        double? probe = null, probeRandom = null;
        if (!interrupted && dataset.HasLabels && split.Fraction > 0)
        {
            log.LogInformation("Linear probe on the held-out {Fraction:P0} (one un-augmented window per series): trained vs random-init encoder", split.Fraction);
            using var random = CpcTrainer.CreateModel(training.Seed, modelOptions, device);
            CpcModel[] models = [trainer.Model, random];
            var train = await FeaturesAsync(dataset, channels, new ReadPlan(0, training.Seed, false, split, HeldOut: false), models, device, stop).ConfigureAwait(false);
            var test = await FeaturesAsync(dataset, channels, new ReadPlan(0, training.Seed, false, split, HeldOut: true), models, device, stop).ConfigureAwait(false);
            if (train.Labels.shape[0] == 0 || test.Labels.shape[0] == 0)
                throw new UsageException($"The linear probe needs labelled series on both sides of the split: {train.Labels.shape[0]} train, {test.Labels.shape[0]} held out.");
            probe = LinearProbe.Top1(train.Features[0], train.Labels, test.Features[0], test.Labels, cpc.ProbeEpochs, seed: training.Seed);
            probeRandom = LinearProbe.Top1(train.Features[1], train.Labels, test.Features[1], test.Labels, cpc.ProbeEpochs, seed: training.Seed);
            log.LogInformation("Linear probe top-1: trained {Trained:F4}, random init {Random:F4} ({Train} train, {Test} test series)", probe, probeRandom,
                train.Labels.shape[0], test.Labels.shape[0]);
            metrics.Write(trainer.Step, outcome.Seconds, ("eval/probe_top1", probe.Value), ("eval/probe_top1_random_init", probeRandom.Value));
            foreach (var f in train.Features.Concat(test.Features)) f.Dispose();
            train.Labels.Dispose();
            test.Labels.Dispose();
        }

        return new TrainResult
        {
            Steps = trainer.Step, Samples = trainer.Samples, Seconds = Math.Round(outcome.Seconds, 2),
            FinalLoss = outcome.MeanLoss,
            ProbeTop1 = probe, ProbeTop1RandomInit = probeRandom,
            // Steps ahead beyond the window's encoded length have no accuracy (NaN): the list stops before them.
            CpcAccuracy = recentAccuracy.Count > 0 ? MeanAccuracy(recentAccuracy).TakeWhile(a => !double.IsNaN(a)).Select(a => Math.Round(a, 4)).ToList() : null,
            Checkpoint = outcome.Checkpoint is null ? null : Path.GetFullPath(outcome.Checkpoint),
            BadSamples = outcome.BadSamples, BadSamplesByShard = outcome.BadByShard, ResumedFromStep = resumedFrom, Interrupted = interrupted,
        };
    }

    private static double[] MeanAccuracy(IEnumerable<double[]> rows)
    {
        var list = rows.Where(r => r.Length > 0).ToList();
        int k = list.Count == 0 ? 0 : list[0].Length;
        var mean = new double[k];
        for (int j = 0; j < k; j++)
        {
            var values = list.Select(r => r[j]).Where(v => !double.IsNaN(v)).ToList();
            mean[j] = values.Count == 0 ? double.NaN : values.Average();
        }
        return mean.Length == 0 ? [double.NaN] : mean;
    }

    /// <summary>Mean-pooled contexts of one un-augmented window per series (its start fixed by the sample), for each model.</summary>
    private async Task<(Tensor[] Features, Tensor Labels)> FeaturesAsync(IImageDataset dataset, int channels, ReadPlan plan, CpcModel[] models, Device device, CancellationToken ct)
    {
        var eval = new SeriesWindowPolicy(new SeriesWindowOptions { Length = series.Length, ScaleProbability = 0, NoiseProbability = 0, MaskProbability = 0 });
        var features = models.Select(_ => new List<Tensor>()).ToArray();
        var labels = new List<long>();
        var settings = new PipelineSettings(new SeriesSampleProcessor(eval, channels), plan.Seed, DropLast: false, Name: "eval");
        await using (var pipeline = InputPipeline.Start(dataset.ReadAsync(plan, ct), batching, settings, ct))
        {
            foreach (var m in models) m.eval();
            await foreach (var lease in pipeline.ReadAllAsync(ct).ConfigureAwait(false))
            {
                using (lease)
                using (no_grad())
                using (var scope = NewDisposeScope())
                {
                    var x = CpcTrainer.Input(lease.Batch, channels, series.Length, device);
                    for (int i = 0; i < models.Length; i++) features[i].Add(models[i].Features(x).cpu().MoveToOuterDisposeScope());
                    labels.AddRange(lease.Batch.Labels.AsSpan(0, lease.Batch.Count).ToArray());
                }
            }
        }
        var stacked = features.Select((f, i) =>
        {
            var t = f.Count == 0 ? zeros(0, models[i].Options.ContextDim) : cat(f, 0);
            foreach (var p in f) p.Dispose();
            return t;
        }).ToArray();
        return (stacked, tensor(labels.ToArray()));
    }

}
