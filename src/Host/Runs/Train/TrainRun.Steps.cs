using System.Diagnostics;
using Contrastive.Batching;
using Contrastive.Ingest;
using Contrastive.Training;
using Microsoft.Extensions.Logging;
using TorchSharp;

namespace Contrastive.Host;

/// <summary>The run's steps before the evaluation: open data, build or resume, choose the processor, train.</summary>
internal sealed partial class TrainRun
{
    private const int MetricsWindow = 20;

    /// <summary>Step 1: the data, opened (the demo set written when none was named) and checked against what the method needs.</summary>
    private async Task<TrainData> OpenDataAsync(IProcessGroup group, CancellationToken stop)
    {
        var method = settings.Method;
        // Text-only methods (simcse) read image datasets' captions: "images" here means the image datasets, decoded or not.
        bool textOnly = method.Data == MethodData.Text, images = method.Data == MethodData.Images || textOnly;
        // Methods that read captions (clip): the tokenizer the workers run, and chunks read with their captions.
        var captions = method.Captions(settings.MethodOptions);
        // Rank 0 opens the data first (writing the demo set when none was named); the others follow once it has.
        if (group.Rank > 0) group.Barrier();
        var (dataset, channels, uri) = await OpenAsync(images, captions is not null, stop).ConfigureAwait(false);
        if (group.Rank == 0) group.Barrier();
        var data = new TrainData(dataset, channels, uri, images, textOnly, captions, dataset.HasLabels ? new HoldoutSplit(settings.Training.HoldoutFraction) : HoldoutSplit.None);
        log.LogInformation("Data {Uri}: {Format}, {Shards} shard(s), {Samples} samples{Channels}, labels: {Labels}",
            uri, dataset.Format, dataset.ShardCount, dataset.SampleCount, images ? "" : $" of {channels} channel(s)", dataset.HasLabels ? "yes" : "none");
        log.LogDebug("Columns: {Columns}", data.ColumnList);
        if (method.NeedsLabels && !dataset.HasLabels)
            throw new UsageException($"--method {method.Name} needs labels, and the data at '{uri}' has none ({data.ColumnList}).");
        if (captions is not null) CaptionData.Require(dataset, $"--method {method.Name} trains on {(textOnly ? "captions" : "images with captions")}", "--text-column");
        if (data.Decoded && await ImageShape.ProbeAsync(dataset, Decoders(), stop).ConfigureAwait(false) is { } shape)
        {
            // The run continues on a copy with the defaults that follow the data; the settings it was given stay as bound.
            (settings, var chosen) = DataDefaults.Apply(settings, shape);
            log.LogInformation("{Defaults}", DataDefaults.Describe(shape, chosen));
        }
        return data;
    }

    private async Task<(IImageDataset Dataset, int Channels, string Uri)> OpenAsync(bool images, bool captions, CancellationToken stop)
    {
        var data = settings.Data;
        void Say(string m) => log.LogInformation("{Message}", m);
        try
        {
            if (data.Weighted)
            {
                if (!images) throw new UsageException($"Data:Sources: weighted sources are image datasets; --method {settings.Method.Name} reads time series from one location (--data).");
                var mix = await OpenSourcesAsync(stop).ConfigureAwait(false);
                return (mix, 0, mix.Uri);
            }
            if (images)
            {
                string uri = captions ? await DemoDataset.EnsureCaptionsAsync(data, Say, stop).ConfigureAwait(false) : await DemoDataset.EnsureAsync(data, Say, stop).ConfigureAwait(false);
                return (await ImageDataset.OpenAsync(uri, data.ImageColumn, data.LabelColumn, data.TextColumn, stop, settings.ObjectStore).ConfigureAwait(false), 0, uri);
            }
            string series = await DemoDataset.EnsureSeriesAsync(data, Say, stop).ConfigureAwait(false);
            var columns = data.SeriesColumns?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            var (dataset, channels) = await SeriesData.OpenAsync(series, columns, data.LabelColumn, stop, settings.ObjectStore).ConfigureAwait(false);
            return (dataset, channels, series);
        }
        catch (DataSourceException e)
        {
            throw new UsageException($"--data: {e.Message}", e);
        }
    }

    /// <summary>Weighted sources (Data:Sources): each opened as --data would be, then mixed by weight.</summary>
    private async Task<WeightedDataset> OpenSourcesAsync(CancellationToken stop)
    {
        var data = settings.Data;
        var list = new List<(IImageDataset, double)>();
        for (int s = 0; s < data.Sources.Count; s++)
        {
            var source = data.Sources[s];
            try { list.Add((await ImageDataset.OpenAsync(source.Uri, data.ImageColumn, data.LabelColumn, data.TextColumn, stop, settings.ObjectStore).ConfigureAwait(false), source.Weight)); }
            catch (DataSourceException e) { throw new UsageException($"weighted source {s} ({source}): {e.Message}", e); }
        }
        var mix = new WeightedDataset(list);
        for (int s = 0; s < mix.Sources.Count; s++)
            log.LogInformation("Source {Index}: {Uri} ({Format}, {Shards} shard(s), {Samples} samples), weight {Weight:0.###}: {Share:P1} of every batch",
                s, mix.Sources[s].Uri, mix.Sources[s].Format, mix.Sources[s].ShardCount, mix.Sources[s].SampleCount, data.Sources[s].Weight, mix.Weights[s]);
        return mix;
    }

    /// <summary>Step 2: the method's networks on the device, resumed from the newest intact checkpoint when asked.</summary>
    private TrainModel BuildOrResume(IProcessGroup group, TrainData data, string outDir, S3RunFolder? remote)
    {
        var (training, method) = (settings.Training, settings.Method);
        if (training.Threads > 0) torch.set_num_threads(training.Threads);
        var device = TorchDevice.Resolve(training.Device, HostEnvironment.LocalRank);
        var context = new MethodContext(training, settings.MethodOptions, device, data.TextOnly ? 0 : data.Images ? settings.Augment.Size : settings.Series.Length, data.Channels) { Group = group };
        ContrastiveTrainer trainer;
        try { trainer = new ContrastiveTrainer(method, context, settings.Batching.BatchSize); }
        catch (ArgumentException e) { throw new UsageException(e.Message, e); }
        try
        {
            var store = new CheckpointStore(outDir, training.KeepCheckpoints) { Written = remote is null ? null : remote.Upload };
            var (rank, world) = group.WorldSize > 1 ? (group.Rank, group.WorldSize) : (settings.Data.Rank, settings.Data.WorldSize);
            var order = settings.Data.WithBuffer(new ReadPlan(0, training.Seed, Shuffle: true, data.Split, Rank: rank, WorldSize: world) { Captions = data.Captions is not null });
            // Shard data can be dealt anew when the checkpoint was written by another number of processes.
            trainer.AcceptsOtherWorldSize = ShuffleBuffer.CanReshard(data.Dataset);
            var resumed = training.Resume ? trainer.ResumeLatest(store, skipped => log.LogWarning("Skipping checkpoint: {Reason}", skipped)) : null;
            if (training.Resume && resumed is null) log.LogWarning("--resume: no intact checkpoint in {Out}; starting from step 0", remote?.Prefix ?? Path.GetFullPath(outDir));
            var cursor = resumed is { } r ? trainer.CursorOf(r.Info) : null;
            if (resumed is { } from) CheckSources(data.Dataset, cursor, from.Info.ShuffleBuffer, order, from.Path);
            var reshard = resumed is { } rr ? ContrastiveTrainer.ReshardOf(rr.Info, group.WorldSize) : null;
            trainer.Reshard = reshard;
            long[]? resumedOrder = resumed?.Info.ShuffleBuffer ?? (resumed is null ? null : [0, 0]); // the resumed epoch is read in the order its cursor was made in
            ReadPlan PlanFor(int e)
            {
                bool dealt = reshard?.Applies(e) == true;
                var plan = (cursor is { } c && e == c.Epoch || dealt) && resumedOrder is { } ro
                    ? order with { Epoch = e, ShuffleBufferSamples = (int)ro[0], ShuffleBufferBytes = ro[1] }
                    : order with { Epoch = e };
                return dealt ? plan with { Reshard = reshard } : plan;
            }
            trainer.ShuffleBuffer = e => [PlanFor(e).ShuffleBufferSamples, PlanFor(e).ShuffleBufferBytes];
            if (resumed is { } ckpt)
                log.LogInformation("resumed from step {Step} ({Path}); data from {Cursor}", ckpt.Info.Step, ckpt.Path, ckpt.Info.Cursor?.ToString() ?? $"the start of epoch {ckpt.Info.Epoch}");
            if (reshard is { FirstEpoch: { } first } && resumed is { } moved && moved.Info.WorldSize != group.WorldSize)
                log.LogInformation("The checkpoint was written by {Old} process(es), this run has {New}: what they left of epoch{S} {Epochs} is dealt over the {New} ({Where})",
                    moved.Info.WorldSize, group.WorldSize, reshard.LastEpoch > first ? "s" : "", reshard.LastEpoch > first ? $"{first}-{reshard.LastEpoch}" : $"{first}", group.WorldSize, reshard);
            if (!string.IsNullOrWhiteSpace(training.InitFrom))
            {
                if (resumed is not null) log.LogInformation("--init-from {File} not used: the run resumes from its checkpoint, which holds its weights", training.InitFrom);
                else InitFrom(trainer, training.InitFrom);
            }
            return new TrainModel(trainer, context, store)
            {
                Cursor = cursor, Epoch = cursor?.Epoch ?? reshard?.FirstEpoch ?? resumed?.Info.Epoch ?? 0, ResumedFrom = resumed is null ? null : trainer.Step, PlanFor = PlanFor, Order = order,
            };
        }
        catch
        {
            trainer.Dispose();
            throw;
        }
    }

    /// <summary>A resume reads the data the checkpoint was read from: as many weighted sources (or one), under the same shuffle buffer for a mix.</summary>
    private void CheckSources(IImageDataset dataset, ReadCursor? cursor, long[]? buffer, ReadPlan order, string path)
    {
        if (cursor is not { } at) return;
        int sources = dataset is WeightedDataset w ? w.Sources.Count : 1, written = at.Mix?.Sources.Count ?? 1;
        if (sources != written || (at.Mix is null) != (dataset is not WeightedDataset))
            throw new UsageException($"--resume: checkpoint '{path}' was read from {(at.Mix is null ? "one data location" : $"{written} weighted sources")}; this run reads " +
                $"{(dataset is WeightedDataset ? $"{sources} weighted sources" : "one")}. Resume with the --data the run was started with, or start a new --out.");
        if (at.Mix is not null && buffer is { Length: 2 } b && (b[0] != order.ShuffleBufferSamples || b[1] != order.ShuffleBufferBytes))
            throw new UsageException($"--resume: weighted sources resume under the shuffle buffer they were read with ({b[0]} samples / {b[1] / 1048576.0:0.##} MB; this run: " +
                $"{order.ShuffleBufferSamples} / {order.ShuffleBufferBytes / 1048576.0:0.##} MB). Give --shuffle-buffer {b[0]} (and Data:ShuffleBufferMb), or start a new --out.");
        // New weights are allowed (a curriculum): they hold for the samples from here on (the shares are counted from the resume).
        if (at.Mix is { } mix && dataset is WeightedDataset now && !mix.SameWeights(now.Weights))
            log.LogInformation("Weighted sources: the weights were {Old}, now {New}; the samples taken so far ({Taken}) stay, and the new shares hold from here on",
                string.Join(" / ", mix.Weights.Select(x => x.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture))),
                string.Join(" / ", now.Weights.Select(x => x.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture))), string.Join(" / ", mix.Picks));
    }

    /// <summary>Step 2, without a checkpoint: the weights of a safetensors file (--init-from) instead of the seed's.</summary>
    private void InitFrom(ContrastiveTrainer trainer, string path)
    {
        if (!File.Exists(path)) throw new UsageException($"--init-from: '{path}' does not exist.");
        ImportResult result;
        try { result = trainer.InitFrom(SafeTensors.Read(path)); }
        catch (InvalidDataException e) { throw new UsageException($"--init-from: {e.Message}", e); }
        log.LogInformation("initialised from {File}: {Parts} ({Tensors} tensors{Skipped})", path, string.Join(" and ", result.Parts), result.Tensors,
            result.Skipped.Count > 0 ? $"; skipped {EvalRun.Skipped(result.Skipped)}" : "");
    }

    /// <summary>Step 3: what the workers make of each sample: the method's image views, caption tokens alone, or series windows.</summary>
    private ISampleProcessor ChooseProcessor(TrainData data) => data.TextOnly ? new CaptionOnlySampleProcessor() : data.Images
        ? new ImageSampleProcessor(settings.Method.ImageViews(settings.MethodOptions, new ViewSettings(settings.Augment, settings.MultiCrop))
            ?? throw new InvalidOperationException($"Method {settings.Method.Name} trains on images but gives no view policy."), Decoders())
        : new SeriesSampleProcessor(new SeriesWindowPolicy(settings.Series), data.Channels);

    /// <summary>Step 4: batches stream through the input pipeline into the shared loop until a limit or a stop request; the result before evaluation.</summary>
    private async Task<(LoopResult Outcome, TrainResult Result)> TrainAsync(IProcessGroup group, TrainData data, TrainModel model, ISampleProcessor processor,
        MetricsLog? metrics, OnlineEvaluation? online, TraceRecorder? trace, string outDir, CancellationToken stop)
    {
        var (batching, trainer) = (settings.Batching, model.Trainer);
        var recent = new Queue<IReadOnlyList<(string Name, double Value)>>();
        LoopResult outcome;
        long dropped;
        var reads = new EpochReads();
        SourceCounts? counts = null;
        // Data-parallel ranks stop together when they agree to (TrainingLoop), not when their own stop request arrives.
        using (var pipelineStop = group.WorldSize > 1 ? new CancellationTokenSource() : CancellationTokenSource.CreateLinkedTokenSource(stop))
        {
            await using var pipeline = InputPipeline.Start(reads.CountAsync(data.Dataset.ReadEpochsAsync(model.PlanFor, model.Epoch, from: model.Cursor)),
                batching, new PipelineSettings(processor, settings.Training.Seed, DropLast: true) { Trace = trace, Captions = data.Captions }, pipelineStop.Token);
            await using var sampler = new PipelineSampler(pipeline.Stats, Header(data, processor, pipeline), trace,
                group.Rank == 0 ? Path.Combine(outDir, PipelineSampler.FileName) : null, intervalSeconds: 0.5); // rank 0 keeps the run's files
            StartLines(group, data, model, processor, pipeline);
            var clock = Stopwatch.StartNew();
            using var live = group.Rank == 0 ? display?.Start($"{settings.Method.Name} on {data.Uri}", Limited ? 1000 : 0) : null;
            var loop = NewLoop(model, metrics, online, trace, live, clock, pipelineStop, recent, group.Rank == 0 ? outDir : null);
            counts = data.Dataset is WeightedDataset mix ? new SourceCounts(pipeline, mix.Sources.Count) : null;
            outcome = await loop.RunAsync((IBatchSource?)counts ?? pipeline, model.Cursor, stop, clock).ConfigureAwait(false);
            dropped = loop.DroppedBatches;
        }
        return (outcome, Result(group, model, outcome, MeanMetrics(recent), recent.Count, dropped, metrics) with
        {
            Epochs = reads.Rows, Sources = SourceResult.Of(data.Dataset, outcome.Cursor ?? model.Cursor, counts?.Counts),
        });
    }

    private bool Limited => settings.Training.MaxSteps > 0 || settings.Training.MaxMinutes > 0;

    /// <summary>The loop with the run's callbacks: the status (the live display's or a log line), the live line after each step, and the method's own metrics kept for the last steps.</summary>
    private TrainingLoop NewLoop(TrainModel model, MetricsLog? metrics, OnlineEvaluation? online, TraceRecorder? trace, LiveProgress? live, Stopwatch clock, CancellationTokenSource pipelineStop,
        Queue<IReadOnlyList<(string Name, double Value)>> recent, string? statusFolder)
    {
        bool statusWarned = false;
        var trainer = model.Trainer;
        var losses = new Queue<double>();
        LoopStatus? last = null;
        long firstSamples = trainer.Samples;
        TrainingLoop? loop = null;
        loop = new TrainingLoop(trainer, model.Store)
        {
            Metrics = metrics,
            Trace = trace,
            // On a terminal the live display shows the status; elsewhere (CI, pipes, the service) a short line every LogEverySeconds.
            // Rank 0 also leaves the status in the run folder (status.json), where a supervisor reads it.
            Status = s =>
            {
                OnStatus?.Invoke(s);
                if (live is null) StatusLine(s); else last = s;
                if (statusFolder is not null && RunStatus.From(s).TryWrite(statusFolder) is { } error && !statusWarned)
                {
                    statusWarned = true;
                    log.LogWarning("Cannot write {File} in {Folder} ({Error}); training goes on", RunStatus.FileName, statusFolder, error);
                }
            },
            Message = m => log.LogInformation("{Message}", m),
            InputDone = pipelineStop.Cancel,
            AfterStep = (step, loss) =>
            {
                OnStep?.Invoke(step, loss);
                if (online is not null && step % online.Every == 0)
                {
                    OnlinePoint point;
                    using (trace.Span(TraceRecorder.TrainerLane, "online evaluation"))
                        point = online.Run(trainer.Method, step);
                    metrics?.Write(step, clock.Elapsed.TotalSeconds, [("eval/online_knn_top1", point.KnnTop1), ("time/online_eval_seconds", point.Seconds),
                        .. point.ZeroShotTop1 is { } z ? new[] { ("eval/online_zero_shot_top1", z) } : []]);
                    log.LogInformation("step {Step}: online kNN top-1 {Top1:F4}{ZeroShot} ({Seconds:F2}s)", step, point.KnnTop1,
                        point.ZeroShotTop1 is { } zs ? $", zero-shot top-1 {zs:F4}" : "", point.Seconds);
                }
                if (trainer.Method.LastMetrics.Count > 0)
                {
                    recent.Enqueue(trainer.Method.LastMetrics);
                    if (recent.Count > MetricsWindow) recent.Dequeue();
                }
                if (live is null) return;
                losses.Enqueue(loss);
                if (losses.Count > MetricsWindow) losses.Dequeue();
                double t = clock.Elapsed.TotalSeconds;
                live.Update(Limited ? 1000 * loop!.Progress(step, t) : 0, LiveLine(step, losses.Average(), (trainer.Samples - firstSamples) / Math.Max(1e-9, t), last));
            },
        };
        return loop;
    }

    /// <summary>The run's figures once training ended: steps, loss, waiting, bad samples, the method's last metrics, the data-parallel checks.</summary>
    private TrainResult Result(IProcessGroup group, TrainModel model, LoopResult outcome, Dictionary<string, double> stepMetrics, int windowSteps, long dropped, MetricsLog? metrics)
    {
        var trainer = model.Trainer;
        if (outcome.BadSamples > 0)
            log.LogWarning("{Bad} bad sample(s) skipped: {ByShard}", outcome.BadSamples, string.Join(", ", outcome.BadByShard.Select(kv => $"{kv.Key}: {kv.Value}")));
        if (stepMetrics.Count > 0)
        {
            metrics?.Write(trainer.Step, outcome.Seconds, [.. stepMetrics.Select(kv => (kv.Key, kv.Value))]);
            log.LogInformation("Last {N} steps: {Metrics}", windowSteps, string.Join(", ", stepMetrics.Select(kv => $"{kv.Key} {kv.Value:F3}")));
        }
        if (outcome.Diversity.Batches > 0) log.LogInformation("Batch diversity: {Diversity}", outcome.Diversity.Summary());
        if (dropped > 0)
            log.LogInformation("Dropped {Dropped} batch(es) at epoch ends: another rank had begun the next epoch (ranks' shares of an epoch differ by whole read units)", dropped);
        var store = ObjectStoreStats.Snapshot();
        return new TrainResult
        {
            StoreRequests = store.Requests > 0 ? store.Requests : null, StoreRetries = store.Requests > 0 ? store.Retries : null,
            BytesFetched = store.Requests > 0 ? store.BytesFetched : null,
            CacheHits = store.CacheUsed ? store.CacheHits : null, CacheMisses = store.CacheUsed ? store.CacheMisses : null,
            CacheBytes = store.CacheUsed ? store.CacheBytesOnDisk : null,
            Steps = trainer.Step, Samples = trainer.Samples, Seconds = Math.Round(outcome.Seconds, 2), FinalLoss = outcome.MeanLoss,
            InputBound = outcome.WaitShare,
            Checkpoint = outcome.Checkpoint is null ? null : Path.GetFullPath(outcome.Checkpoint),
            BadSamples = outcome.BadSamples, BadSamplesByShard = outcome.BadByShard, ResumedFromStep = model.ResumedFrom, Interrupted = outcome.Interrupted,
            StepMetrics = stepMetrics.Count > 0 ? stepMetrics : null,
            Diversity = outcome.Diversity.Batches > 0 ? DiversityResult.From(outcome.Diversity) : null,
            WorldSize = group.WorldSize, Rank = group.Rank, GlobalBatchSize = trainer.GlobalBatchSize, ParameterChecksum = trainer.ParameterChecksum(),
            CommunicationSeconds = group.WorldSize > 1 ? Math.Round(trainer.CommunicationSeconds, 3) : null,
        };
    }

    private Func<IImageDecoder>? _decoders;

    /// <summary>The configured decoders (resolved once: an error here names Decoder:Name).</summary>
    private Func<IImageDecoder> Decoders()
    {
        try { return _decoders ??= settings.Decoder.Factory(); }
        catch (InvalidOperationException e) { throw new UsageException(e.Message, e); }
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
