using System.Diagnostics;
using System.Globalization;
using Contrastive.Batching;
using Contrastive.Ingest;

namespace Contrastive.Host;

/// <summary>
/// `contrastive bench`: runs the input pipeline (read → decode → augment → batch) into a consumer that only
/// returns leases, or one that holds each batch as long as a trainer of the given speed would, and measures
/// every stage after a warm-up. The throughput profiling run users ask for. With captions, the captions are read too and
/// the workers tokenize each into its batch slot's token row, as a CLIP run does.
/// </summary>
internal sealed partial class BenchRun(BenchSettings settings, TextWriter progress, RunDisplay? display = null, TraceRecorder? trace = null, Action? windowStarted = null)
{
    /// <summary>After <see cref="RunAsync"/>: the settings and the pipeline's points of the measured window (its first and last are the window's ends), for a report.</summary>
    public (ProfileHeader Header, IReadOnlyList<ProfilePoint> Points)? Profile { get; private set; }

    private double Seconds => settings.Bench.Seconds;

    /// <summary>Seconds run before measuring: as given, or 15% of the measured time, 1 to 60 s (pools and caches fill first); none for whole epochs.</summary>
    private double Warmup => settings.Bench.Epochs > 0 ? 0 : settings.Bench.Warmup ?? Math.Clamp(Seconds * 0.15, 1, 60);

    /// <summary>With Bench:Epochs, each epoch as the reader saw it, said on the progress writer as it ends.</summary>
    private EpochReads? _epochs;

    /// <summary>The chunks of <paramref name="epochs"/> whole epochs of <paramref name="order"/>, counted by <see cref="_epochs"/>.</summary>
    private IAsyncEnumerable<SampleChunk> WholeEpochsAsync(IImageDataset dataset, ReadPlan order, int epochs, CancellationToken ct)
    {
        _epochs = new EpochReads(e => progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"bench: epoch {e.Epoch}: {e.Samples} samples in {e.Seconds:F1} s ({e.ImagesPerSec:F0} images/s read){(e.StoreRequests > 0 ? $", {e.BytesFetched / 1e6:F1} MB fetched in {e.StoreRequests} requests, {e.StoreRetries} retries" : "")}{(e.CacheHits is { } hits ? $", cache {hits} hit(s), {e.CacheMisses} miss(es)" : "")}")));
        return _epochs.CountAsync(Epochs(), ct);

        async IAsyncEnumerable<SampleChunk> Epochs([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken token = default)
        {
            for (int e = 0; e < epochs; e++)
                await foreach (var chunk in dataset.ReadAsync(order with { Epoch = e }, token).ConfigureAwait(false))
                    yield return chunk;
        }
    }

    /// <summary>Seconds between the working-set samples of the result's series (a sixth of the run, 10 to 60 s).</summary>
    private double SeriesSeconds => Math.Clamp(Seconds / 6, 10, 60);

    public async Task<BenchResult> RunAsync(CancellationToken ct)
    {
        var dataset = await OpenAsync(ct).ConfigureAwait(false);
        if (settings.Captions is { } captions) CaptionData.Require(dataset, settings.CaptionsBy, settings.TextColumnOption);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var (batching, policy) = (settings.Batching, settings.Policy);
        var pipelineSettings = new PipelineSettings(policy, 0, DropLast: true, settings.Decoders, Name: "bench", TrainerSharesCpu: false) { Trace = trace, Captions = settings.Captions };
        var order = settings.Data.WithBuffer(new ReadPlan(0, 0, Shuffle: true, HoldoutSplit.None)) with { Captions = settings.Captions is not null };
        var source = settings.Bench.Epochs > 0 ? WholeEpochsAsync(dataset, order, settings.Bench.Epochs, stop.Token) : dataset.ReadEpochsAsync(e => order with { Epoch = e });
        // Whole epochs keep every sample: the last batch may be partial.
        if (settings.Bench.Epochs > 0) pipelineSettings = pipelineSettings with { DropLast = false };
        await using var pipeline = InputPipeline.Start(source, batching, pipelineSettings, stop.Token);
        progress.WriteLine($"bench: data order: {ShuffleBuffer.Describe(dataset, order).Text}");
        var header = new ProfileHeader
        {
            Command = "bench", Started = DateTimeOffset.UtcNow, Workers = pipeline.Workers, Decoder = pipeline.DecoderName, DecodeScaling = settings.DecodeScaling,
            BatchSize = batching.BatchSize, ImageSize = policy.Size, Views = policy.ViewCount, ChunkQueue = batching.ChunkQueue, Prefetch = batching.Prefetch,
            Deterministic = batching.Deterministic, Data = settings.Uri, Format = dataset.Format,
            ConsumerRate = settings.Bench.ConsumerRate, WarmupSeconds = Warmup,
        };
        var sampler = new PipelineSampler(pipeline.Stats, header, trace, file: null, intervalSeconds: 0.5);
        progress.WriteLine(StartLine(dataset, pipeline));
        var consumer = new Consumer(pipeline, settings.Bench.ConsumerRate, trace, stop.Token);
        var window = await MeasureAsync(pipeline, consumer.Task, ct).ConfigureAwait(false);
        await sampler.DisposeAsync().ConfigureAwait(false);
        if (window.Start is { } from)
        {
            double heapMb = GC.GetGCMemoryInfo().HeapSizeBytes / 1e6;
            var inside = sampler.Points.Where(p => p.Seconds > from.Elapsed.TotalSeconds && p.Seconds < window.End.Elapsed.TotalSeconds);
            Profile = (header, [ProfilePoint.From(from, window.WorkingSetStartMb, heapMb), .. inside, ProfilePoint.From(window.End, window.WorkingSetEndMb, heapMb)]);
        }
        // How long the whole graph takes to stop once cancelled: every block drained, every lease back.
        long stopStart = Stopwatch.GetTimestamp();
        stop.Cancel();
        await consumer.Task.ConfigureAwait(false);
        try { await pipeline.Completion.ConfigureAwait(false); } catch (OperationCanceledException) { }
        double stopMs = Stopwatch.GetElapsedTime(stopStart).TotalMilliseconds;
        if (window.Start is null) throw new InvalidOperationException("the bench ended before its warm-up did");
        return Result(window, consumer, dataset, pipeline) with
        {
            StopMilliseconds = Math.Round(stopMs, 1), LeasesOutAfterStop = pipeline.Pool.Outstanding, Epochs = _epochs?.Rows,
        };
    }

    private string StartLine(IImageDataset dataset, InputPipeline pipeline)
    {
        var (batching, policy, captions) = (settings.Batching, settings.Policy, settings.Captions);
        string text = captions is null ? "" : $", captions from '{dataset.Columns.GetValueOrDefault("text")}' tokenized by {captions.Name} into {captions.Context}-id rows";
        return string.Create(CultureInfo.InvariantCulture,
            $"bench: {settings.Uri} ({dataset.Format}, {dataset.ShardCount} shards, {dataset.SampleCount} samples), {pipeline.Workers} worker(s), {pipeline.DecoderName} decoder, " +
            $"batch {batching.BatchSize} x {policy.ViewCount} views at {policy.Size} px, {pipeline.Pool.Buffers} buffers = {pipeline.Pool.TotalBytes / 1e6:F1} MB, " +
            $"{(settings.Bench.Epochs > 0 ? $"{settings.Bench.Epochs} whole epoch(s)" : $"{Seconds:F0} s ({Warmup:F0} s warm-up)")}{(settings.Bench.ConsumerRate is { } r ? $", consumer {r:F0} images/s" : ", null consumer")}{text}");
    }

    /// <summary>
    /// The consumer: takes every batch, counts its token rows (ids that are not padding, start and end included, and rows
    /// filled to the context) and its mix, and with a rate holds each batch as long as a trainer at that rate would.
    /// </summary>
    private sealed class Consumer
    {
        public Consumer(InputPipeline pipeline, double? rate, TraceRecorder? trace, CancellationToken stop) => Task = Task.Run(() => RunAsync(pipeline, rate, trace, stop));

        public Task Task { get; }
        public BatchDiversityMeter Diversity { get; } = new();
        public long CaptionRows { get; private set; }
        public long CaptionIds { get; private set; }
        public long FullRows { get; private set; }

        private async Task RunAsync(InputPipeline pipeline, double? rate, TraceRecorder? trace, CancellationToken stop)
        {
            try
            {
                await foreach (var lease in pipeline.ReadAllAsync(stop).ConfigureAwait(false))
                {
                    long t0 = Stopwatch.GetTimestamp();
                    using var consuming = trace.Span("consumer", "consume batch");
                    int n = lease.Batch.Count;
                    Diversity.Add(lease.Batch);
                    if (lease.Batch.TokenLengths is { } lengths)
                    {
                        for (int i = 0; i < n; i++)
                        {
                            CaptionIds += lengths[i];
                            if (lengths[i] == lease.Batch.Context) FullRows++;
                        }
                        CaptionRows += n;
                    }
                    if (rate is { } r)
                    {
                        var hold = TimeSpan.FromSeconds(n / r) - Stopwatch.GetElapsedTime(t0);
                        if (hold > TimeSpan.Zero) await Task.Delay(hold, stop).ConfigureAwait(false);
                    }
                    lease.Dispose();
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
        }
    }

    /// <summary>
    /// Ingest alone: reads chunks (the encoded bytes handed on, nothing decoded) on the calling thread for the
    /// given time and reports samples/s, MB/s and bytes allocated per sample.
    /// </summary>
    public async Task<BenchResult> RunIngestAsync(CancellationToken ct)
    {
        var dataset = await OpenAsync(ct).ConfigureAwait(false);
        double warmup = Warmup;
        string span = settings.Bench.Epochs > 0 ? $"{settings.Bench.Epochs} whole epoch(s)" : string.Create(CultureInfo.InvariantCulture, $"{Seconds:F0} s ({warmup:F0} s warm-up)");
        progress.WriteLine($"bench --stage ingest: {settings.Uri} ({dataset.Format}, {dataset.ShardCount} shards, {dataset.SampleCount} samples), one thread, {span}");
        var clock = Stopwatch.StartNew();
        long samples = 0, bytes = 0, chunks = 0, alloc0 = 0;
        double t0 = 0;
        bool measuring = false;
        long checksum = 0;
        int epochs = settings.Bench.Epochs;
        var source = epochs > 0 ? WholeEpochsAsync(dataset, settings.Data.WithBuffer(new ReadPlan(0, 0, Shuffle: true, HoldoutSplit.None)), epochs, ct) : null;
        for (int epoch = 0; epochs > 0 ? epoch < 1 : clock.Elapsed.TotalSeconds < warmup + Seconds; epoch++)
        {
            await foreach (var chunk in (source ?? dataset.ReadAsync(settings.Data.WithBuffer(new ReadPlan(epoch, 0, Shuffle: true, HoldoutSplit.None)), ct)).ConfigureAwait(false))
            {
                using (chunk)
                {
                    if (!measuring && clock.Elapsed.TotalSeconds >= warmup)
                    {
                        measuring = true;
                        t0 = clock.Elapsed.TotalSeconds;
                        alloc0 = GC.GetTotalAllocatedBytes(precise: true);
                        windowStarted?.Invoke();
                    }
                    if (measuring)
                    {
                        chunks++;
                        samples += chunk.Count;
                        for (int i = 0; i < chunk.Count; i++)
                        {
                            var img = chunk.Images[i].Span;
                            bytes += img.Length;
                            if (!img.IsEmpty) checksum += img[0]; // touch the bytes, as a consumer would
                        }
                    }
                }
                if (epochs == 0 && clock.Elapsed.TotalSeconds >= warmup + Seconds) break;
            }
        }
        double window = clock.Elapsed.TotalSeconds - t0;
        long alloc = GC.GetTotalAllocatedBytes(precise: true) - alloc0;
        GC.KeepAlive(checksum);
        return new BenchResult
        {
            ImagesPerSec = Math.Round(samples / window, 1),
            Workers = 1,
            Decoder = "none (ingest only)",
            AllocBytesPerImage = samples == 0 ? 0 : Math.Round((double)alloc / samples),
            Seconds = Math.Round(window, 2),
            WarmupSeconds = warmup,
            Bottleneck = "reading (only stage measured)",
            Epochs = _epochs?.Rows,
            StageRates = new()
            {
                ["read_images_per_sec"] = Math.Round(samples / window, 1),
                ["read_mb_per_sec"] = Math.Round(bytes / 1e6 / window, 2),
                ["chunks_per_sec"] = Math.Round(chunks / window, 2),
                ["mean_image_bytes"] = samples == 0 ? 0 : Math.Round((double)bytes / samples),
            },
        };
    }

    private async Task<IImageDataset> OpenAsync(CancellationToken ct)
    {
        var data = settings.Data;
        try { return await ImageDataset.OpenAsync(settings.Uri, data.ImageColumn, data.LabelColumn, data.TextColumn, ct, settings.ObjectStore).ConfigureAwait(false); }
        catch (DataSourceException e) { throw new UsageException($"--data: {e.Message}", e); }
        catch (ShardFormatException e) when (data.TextColumn is not null && e.Column == data.TextColumn)
        {
            throw new UsageException($"{settings.TextColumnOption}: {e.Message}", e); // the named caption column is not in the data
        }
    }

}
