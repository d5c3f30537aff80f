using System.Diagnostics;
using Contrastive.Batching;
using Contrastive.Ingest;
using Contrastive.Training;
using Microsoft.Extensions.Logging;
using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Host;

/// <summary>
/// One training run of any registered method, start to end: open the data (making the demo set if none was named),
/// resume if asked, stream batches of the method's views through the input pipeline into the shared
/// <see cref="TrainingLoop"/> until a limit or a stop request, checkpoint, then evaluate the trained against the
/// random-init network on the held-out split (kNN for images, a linear probe for series).
/// </summary>
public sealed class TrainRun(RunSettings settings, ILogger log, RunDisplay? display = null)
{
    private const int MetricsWindow = 20;

    /// <summary>What this run records as the holder of its folder's lock (default: this process's command line).</summary>
    public string? LockPurpose { get; init; }

    /// <summary>With an s3:// --out: the local working folder (default TMPDIR/contrastive-s3/bucket/prefix).</summary>
    public string? LocalFolder { get; init; }

    /// <summary>Called after every step with (step, loss), from the training thread: live figures for a front end.</summary>
    public Action<long, double>? OnStep { get; init; }

    /// <summary>Called with each periodic status (every Training:LogEverySeconds), from the training thread.</summary>
    public Action<LoopStatus>? OnStatus { get; init; }

    public async Task<TrainResult> RunAsync(CancellationToken stop)
    {
        // --out s3://bucket/prefix: the run works in a local folder and copies each checkpoint (and the metrics) to the bucket.
        var remote = ObjectStore.IsS3(settings.Training.Out) ? new S3RunFolder(settings.Training.Out, settings.Training.KeepCheckpoints, log, LocalFolder) : null;
        string outDir = remote?.LocalFolder ?? settings.Training.Out;
        // One writer per run folder: held until the run ends (a second train on the folder is refused, naming this process).
        using var folderLock = RunFolderLock.Acquire(outDir, $"--out {settings.Training.Out}", LockPurpose);
        if (remote is not null && settings.Training.Resume) await remote.FetchForResumeAsync(stop).ConfigureAwait(false);
        var result = await RunLockedAsync(outDir, remote, stop).ConfigureAwait(false);
        if (remote is null) return result;
        remote.UploadMetrics(); // with the evaluation's rows
        return result with { Checkpoint = result.Checkpoint is null ? null : remote.UriOf(result.Checkpoint) };
    }

    private async Task<TrainResult> RunLockedAsync(string outDir, S3RunFolder? remote, CancellationToken stop)
    {
        var (data, training, batching) = (settings.Data, settings.Training, settings.Batching);
        var method = settings.Method;
        bool images = method.Data == MethodData.Images;
        var (dataset, channels, uri) = await OpenDataAsync(images, stop).ConfigureAwait(false);
        log.LogInformation("Data {Uri}: {Format}, {Shards} shard(s), {Samples} samples{Channels}, columns {Columns}, labels: {Labels}",
            uri, dataset.Format, dataset.ShardCount, dataset.SampleCount, images ? "" : $" of {channels} channel(s)",
            string.Join(", ", dataset.Columns.Select(c => $"{c.Key} = {c.Value}")), dataset.HasLabels ? "yes" : "none");
        if (method.NeedsLabels && !dataset.HasLabels)
            throw new UsageException($"--method {method.Name} needs labels, and the data at '{uri}' has none ({string.Join(", ", dataset.Columns.Select(c => $"{c.Key} = {c.Value}"))}).");

        if (training.Threads > 0) torch.set_num_threads(training.Threads);
        var device = TorchDevice.Resolve(training.Device);
        var split = dataset.HasLabels ? new HoldoutSplit(training.HoldoutFraction) : HoldoutSplit.None;
        var context = new MethodContext(training, settings.MethodOptions, device, images ? settings.Augment.Size : settings.Series.Length, channels);
        ContrastiveTrainer trainer;
        try { trainer = new ContrastiveTrainer(method, context, batching.BatchSize); }
        catch (ArgumentException e) { throw new UsageException(e.Message, e); }
        using var _ = trainer;
        var store = new CheckpointStore(outDir, training.KeepCheckpoints) { Written = remote is null ? null : remote.Upload };

        ReadCursor? cursor = null;
        int epoch = 0;
        long? resumedFrom = null;
        var order = data.WithBuffer(new ReadPlan(0, training.Seed, Shuffle: true, split, Rank: data.Rank, WorldSize: data.WorldSize));
        long[]? resumedOrder = null; // the resumed epoch is read in the order its cursor was made in
        ReadPlan PlanFor(int e) => cursor is { } c && e == c.Epoch && resumedOrder is { } ro
            ? order with { Epoch = e, ShuffleBufferSamples = (int)ro[0], ShuffleBufferBytes = ro[1] }
            : order with { Epoch = e };
        trainer.ShuffleBuffer = e => [PlanFor(e).ShuffleBufferSamples, PlanFor(e).ShuffleBufferBytes];
        if (training.Resume)
        {
            if (trainer.ResumeLatest(store, skipped => log.LogWarning("Skipping checkpoint: {Reason}", skipped)) is { } ckpt)
            {
                cursor = ckpt.Info.Cursor;
                epoch = ckpt.Info.Epoch;
                resumedFrom = trainer.Step;
                resumedOrder = ckpt.Info.ShuffleBuffer ?? [0, 0];
                log.LogInformation("resumed from step {Step} ({Path}); data from {Cursor}", ckpt.Info.Step, ckpt.Path,
                    ckpt.Info.Cursor?.ToString() ?? $"the start of epoch {ckpt.Info.Epoch}");
            }
            else log.LogWarning("--resume: no intact checkpoint in {Out}; starting from step 0", remote?.Prefix ?? Path.GetFullPath(outDir));
        }

        ISampleProcessor processor = images
            ? new ImageSampleProcessor(method.ImageViews(settings.MethodOptions, new ViewSettings(settings.Augment, settings.MultiCrop))
                ?? throw new InvalidOperationException($"Method {method.Name} trains on images but gives no view policy."), Decoders())
            : new SeriesSampleProcessor(new SeriesWindowPolicy(settings.Series), channels);
        var recent = new Queue<IReadOnlyList<(string Name, double Value)>>();
        LoopResult outcome;
        // A resume (even one that found no checkpoint and starts over) drops the rows logged after the step it continues from.
        using var metrics = new MetricsLog(outDir, training.Resume ? resumedFrom ?? 0 : null);
        using (var pipelineStop = CancellationTokenSource.CreateLinkedTokenSource(stop))
        {
            await using var pipeline = InputPipeline.Start(
                dataset.ReadEpochsAsync(PlanFor, epoch, from: cursor),
                batching, new PipelineSettings(processor, training.Seed, DropLast: true), pipelineStop.Token);
            log.LogInformation("Training {Method} ({Views}) on {Device}: {Model}; batch {Batch}, {Workers} worker(s) ({Decoder}{Fallback}), torch threads {Threads}; {Precision}; {Optimizer} peak lr {Lr:g4}{Clip}; batch memory {Mb:F1} MB in {Buffers} buffers",
                method.Name, Views(processor), device.type, images ? $"{training.Encoder} at {settings.Augment.Size}px" : $"windows of {channels} x {settings.Series.Length}",
                batching.BatchSize, pipeline.Workers, pipeline.DecoderName, images ? DecoderFallbackNote(pipeline.DecoderName) : "", torch.get_num_threads(),
                trainer.PrecisionName, training.Optimizer, trainer.LearningRate, trainer.ClipGradNorm > 0 ? $", gradient clip {trainer.ClipGradNorm:g3}" : "",
                pipeline.Pool.TotalBytes / 1e6, pipeline.Pool.Buffers);
            log.LogInformation("Data order: {Order}", ShuffleBuffer.Describe(dataset, order).Text);
            var clock = Stopwatch.StartNew();
            bool limited = training.MaxSteps > 0 || training.MaxMinutes > 0;
            using var live = display?.Start($"{method.Name} on {uri}", limited ? 1000 : 0);
            var losses = new Queue<double>();
            LoopStatus? last = null;
            long firstSamples = trainer.Samples;
            TrainingLoop? running = null;
            var loop = new TrainingLoop(trainer, store)
            {
                Metrics = metrics,
                // On a terminal the live display shows the status; elsewhere (CI, pipes, the service) a short line every LogEverySeconds.
                Status = s => { OnStatus?.Invoke(s); if (live is null) StatusLine(s); else last = s; },
                Message = m => log.LogInformation("{Message}", m),
                InputDone = pipelineStop.Cancel,
                AfterStep = (step, loss) =>
                {
                    OnStep?.Invoke(step, loss);
                    if (trainer.Method.LastMetrics.Count > 0)
                    {
                        recent.Enqueue(trainer.Method.LastMetrics);
                        if (recent.Count > MetricsWindow) recent.Dequeue();
                    }
                    if (live is null) return;
                    losses.Enqueue(loss);
                    if (losses.Count > MetricsWindow) losses.Dequeue();
                    double t = clock.Elapsed.TotalSeconds;
                    live.Update(limited ? 1000 * running!.Progress(step, t) : 0, LiveLine(step, losses.Average(), (trainer.Samples - firstSamples) / Math.Max(1e-9, t), last));
                },
            };
            running = loop;
            outcome = await loop.RunAsync(pipeline, cursor, stop, clock).ConfigureAwait(false);
        }
        if (outcome.BadSamples > 0)
            log.LogWarning("{Bad} bad sample(s) skipped: {ByShard}", outcome.BadSamples, string.Join(", ", outcome.BadByShard.Select(kv => $"{kv.Key}: {kv.Value}")));
        var stepMetrics = MeanMetrics(recent);
        if (stepMetrics.Count > 0)
        {
            metrics.Write(trainer.Step, outcome.Seconds, [.. stepMetrics.Select(kv => (kv.Key, kv.Value))]);
            log.LogInformation("Last {N} steps: {Metrics}", recent.Count, string.Join(", ", stepMetrics.Select(kv => $"{kv.Key} {kv.Value:F3}")));
        }

        var result = new TrainResult
        {
            Steps = trainer.Step, Samples = trainer.Samples, Seconds = Math.Round(outcome.Seconds, 2), FinalLoss = outcome.MeanLoss,
            InputBound = outcome.WaitShare,
            Checkpoint = outcome.Checkpoint is null ? null : Path.GetFullPath(outcome.Checkpoint),
            BadSamples = outcome.BadSamples, BadSamplesByShard = outcome.BadByShard, ResumedFromStep = resumedFrom, Interrupted = outcome.Interrupted,
            StepMetrics = stepMetrics.Count > 0 ? stepMetrics : null,
            Diversity = outcome.Diversity.Batches > 0 ? DiversityResult.From(outcome.Diversity) : null,
        };
        if (outcome.Diversity.Batches > 0) log.LogInformation("Batch diversity: {Diversity}", outcome.Diversity.Summary());
        if (outcome.Interrupted || !dataset.HasLabels || split.Fraction <= 0) return result;

        // The same method freshly built from the run's seed is the random-init baseline.
        using var random = method.Create(context);
        var embeds = new Func<Batch, Tensor>?[] { trainer.Method.Embed, random.Embed };
        ISampleProcessor evalView = images
            ? new ImageSampleProcessor(new EvalTransform(settings.Augment.Size, settings.Evaluation.CropFraction), Decoders())
            : new SeriesSampleProcessor(new SeriesWindowPolicy(new SeriesWindowOptions { Length = settings.Series.Length, ScaleProbability = 0, NoiseProbability = 0, MaskProbability = 0 }), channels);
        var bank = await FeaturePass.RunAsync(dataset, new ReadPlan(0, training.Seed, false, split, HeldOut: false), images ? settings.Evaluation.KnnBankSize : long.MaxValue,
            evalView, batching, embeds, stop).ConfigureAwait(false);
        var test = await FeaturePass.RunAsync(dataset, new ReadPlan(0, training.Seed, false, split, HeldOut: true), long.MaxValue,
            evalView, batching, embeds, stop).ConfigureAwait(false);
        try
        {
            if (bank[0].Labels.shape[0] == 0 || test[0].Labels.shape[0] == 0)
                throw new UsageException($"Evaluation needs labelled samples on both sides of the held-out split: {bank[0].Labels.shape[0]} train, {test[0].Labels.shape[0]} held out.");
            if (images)
            {
                log.LogInformation("kNN evaluation (k={K}, T={T}) on the held-out {Fraction:P0}: trained vs random-init", settings.Evaluation.KnnK, settings.Evaluation.KnnTemperature, split.Fraction);
                double Knn(int e) => KnnClassifier.Top1(bank[e].Features, bank[e].Labels, test[e].Features, test[e].Labels, settings.Evaluation.KnnK, settings.Evaluation.KnnTemperature);
                result = result with { KnnTop1 = Knn(0), KnnTop1RandomInit = Knn(1) };
                log.LogInformation("kNN top-1: trained {Trained:F4}, random init {Random:F4} ({Bank} bank, {Test} test samples)", result.KnnTop1, result.KnnTop1RandomInit,
                    bank[0].Labels.shape[0], test[0].Labels.shape[0]);
                metrics.Write(trainer.Step, outcome.Seconds, ("eval/knn_top1", result.KnnTop1!.Value), ("eval/knn_top1_random_init", result.KnnTop1RandomInit!.Value));
            }
            else
            {
                log.LogInformation("Linear probe on the held-out {Fraction:P0} (one un-augmented window per series): trained vs random-init", split.Fraction);
                double Probe(int e) => LinearProbe.Top1(bank[e].Features, bank[e].Labels, test[e].Features, test[e].Labels, settings.Evaluation.ProbeEpochs, seed: training.Seed);
                result = result with { ProbeTop1 = Probe(0), ProbeTop1RandomInit = Probe(1) };
                log.LogInformation("Linear probe top-1: trained {Trained:F4}, random init {Random:F4} ({Train} train, {Test} test series)", result.ProbeTop1,
                    result.ProbeTop1RandomInit, bank[0].Labels.shape[0], test[0].Labels.shape[0]);
                metrics.Write(trainer.Step, outcome.Seconds, ("eval/probe_top1", result.ProbeTop1!.Value), ("eval/probe_top1_random_init", result.ProbeTop1RandomInit!.Value));
            }
        }
        finally
        {
            foreach (var (f, l) in bank.Concat(test)) { f.Dispose(); l.Dispose(); }
        }
        return result;
    }

    private void StatusLine(LoopStatus s)
    {
        var o = settings.Training;
        string of = o.MaxSteps > 0 ? $"/{o.MaxSteps}" : "";
        string eta = s.EtaSeconds is { } e ? $", ETA {Duration(e)}" : "";
        log.LogInformation("step {Step}{Of} epoch {Epoch} loss {Loss:F4} lr {Lr:G3} | {Rate:F0} samples/s, waited for data {Wait:P0} | {Elapsed} elapsed{Eta}{Bad}",
            s.Step, of, s.Epoch, s.MeanLoss, s.LearningRate, s.SamplesPerSecond, s.WaitShare, Duration(s.Seconds), eta, s.BadSamples > 0 ? $" | bad samples {s.BadSamples}" : "");
        if (s.Input is not null) log.LogDebug("pipeline: {Pipeline} | batches: {Diversity}", s.Input, s.Diversity.Summary());
    }

    /// <summary>The live display's line: step of total, loss, rate, and (from the last status) waiting, bad samples and batch mix.</summary>
    private string LiveLine(long step, double loss, double samplesPerSecond, LoopStatus? status)
    {
        var o = settings.Training;
        string of = o.MaxSteps > 0 ? $"/{o.MaxSteps}" : "";
        string rest = status is null ? "" : $" · waited for data {status.WaitShare:P0}{(status.BadSamples > 0 ? $" · bad {status.BadSamples}" : "")} · epoch {status.Epoch}";
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"step {step}{of} · loss {loss:F4} · {samplesPerSecond:F0} samples/s{rest}");
    }

    /// <summary>A duration as a person reads it: 45s, 3m05s, 2h07m.</summary>
    internal static string Duration(double seconds)
    {
        var t = TimeSpan.FromSeconds(Math.Max(0, seconds));
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes}m{t.Seconds:D2}s" : $"{t.Seconds}s";
    }

    private static string Views(ISampleProcessor p) => p switch
    {
        ImageSampleProcessor { Policy: MultiCropViewPolicy mc } => $"2 global + {mc.ViewCount - 2} local views of {mc.LocalSize}px",
        ImageSampleProcessor i => $"{i.ViewCount} views",
        _ => "1 window",
    };

    private Func<IImageDecoder>? _decoders;

    /// <summary>The configured decoders (resolved once: an error here names Decoder:Name).</summary>
    private Func<IImageDecoder> Decoders()
    {
        try { return _decoders ??= settings.Decoder.Factory(); }
        catch (InvalidOperationException e) { throw new UsageException(e.Message, e); }
    }

    /// <summary>What the Skia fallback costs, when auto found no libturbojpeg.</summary>
    private string DecoderFallbackNote(string decoder) =>
        decoder == "skia" && settings.Decoder.Name.Equals("auto", StringComparison.OrdinalIgnoreCase)
            ? "; libturbojpeg not found, so Skia decodes: JPEG about 2.2x slower (docs/benchmarks.md); apt-get install libturbojpeg0"
            : "";

    private async Task<(IImageDataset Dataset, int Channels, string Uri)> OpenDataAsync(bool images, CancellationToken stop)
    {
        var data = settings.Data;
        try
        {
            if (images)
            {
                string uri = await DemoDataset.EnsureAsync(data, m => log.LogInformation("{Message}", m), stop).ConfigureAwait(false);
                return (await ImageDataset.OpenAsync(uri, data.ImageColumn, data.LabelColumn, stop).ConfigureAwait(false), 0, uri);
            }
            string series = await DemoDataset.EnsureSeriesAsync(data, m => log.LogInformation("{Message}", m), stop).ConfigureAwait(false);
            var columns = data.SeriesColumns?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            var (dataset, channels) = await SeriesData.OpenAsync(series, columns, data.LabelColumn, stop).ConfigureAwait(false);
            return (dataset, channels, series);
        }
        catch (DataSourceException e)
        {
            throw new UsageException($"--data: {e.Message}", e);
        }
    }

    private static Dictionary<string, double> MeanMetrics(IEnumerable<IReadOnlyList<(string Name, double Value)>> rows)
    {
        var sums = new Dictionary<string, (double Sum, int N)>();
        foreach (var row in rows)
            foreach (var (name, value) in row)
                if (!double.IsNaN(value))
                {
                    var (sum, n) = sums.GetValueOrDefault(name);
                    sums[name] = (sum + value, n + 1);
                }
        return sums.ToDictionary(kv => kv.Key, kv => Math.Round(kv.Value.Sum / kv.Value.N, 4));
    }
}
