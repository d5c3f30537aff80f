using System.Diagnostics;
using System.Globalization;
using Contrastive.Augment;
using Contrastive.Batching;
using Contrastive.Ingest;

namespace Contrastive.Host;

/// <summary>
/// `contrastive bench`: runs the input pipeline (read → decode → augment → batch) into a consumer that only
/// returns leases, or one that holds each batch as long as a trainer of the given speed would, and measures
/// every stage after a warm-up. The throughput profiling run users ask for. With <paramref name="captions"/>, the captions are
/// read too and the workers tokenize each into its batch slot's token row, as a CLIP run does (<paramref name="captionsOption"/>
/// and <paramref name="textColumnOption"/> name the options in the message when the data has none).
/// </summary>
public sealed class BenchRun(string uri, BatchingOptions batching, IViewPolicy policy, DataOptions data, double seconds, double? consumerRate, TextWriter progress,
    Action? windowStarted = null, double? warmupSeconds = null, Func<IImageDecoder>? decoders = null, RunDisplay? display = null,
    TraceRecorder? trace = null, bool decodeScaling = true, ICaptionEncoder? captions = null, string captionsOption = "--captions",
    string textColumnOption = "--text-column")
{
    /// <summary>After <see cref="RunAsync"/>: the settings and the pipeline's points of the measured window (its first and last are the window's ends), for a report.</summary>
    public (ProfileHeader Header, IReadOnlyList<ProfilePoint> Points)? Profile { get; private set; }

    /// <summary>Seconds run before measuring: as given, or 15% of the measured time, 1 to 60 s (pools and caches fill first).</summary>
    private double Warmup => warmupSeconds ?? Math.Clamp(seconds * 0.15, 1, 60);

    /// <summary>Seconds between the working-set samples of the result's series (a sixth of the run, 10 to 60 s).</summary>
    private double SeriesSeconds => Math.Clamp(seconds / 6, 10, 60);

    public async Task<BenchResult> RunAsync(CancellationToken ct)
    {
        var dataset = await OpenAsync(ct).ConfigureAwait(false);
        if (captions is not null) CaptionData.Require(dataset, captionsOption, textColumnOption);

        double warmup = Warmup;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var settings = new PipelineSettings(policy, 0, DropLast: true, decoders, Name: "bench", TrainerSharesCpu: false) { Trace = trace, Captions = captions };
        var order = data.WithBuffer(new ReadPlan(0, 0, Shuffle: true, HoldoutSplit.None)) with { Captions = captions is not null };
        await using var pipeline = InputPipeline.Start(dataset.ReadEpochsAsync(e => order with { Epoch = e }), batching, settings, stop.Token);
        progress.WriteLine($"bench: data order: {ShuffleBuffer.Describe(dataset, order).Text}");
        var diversity = new BatchDiversityMeter();
        var header = new ProfileHeader
        {
            Command = "bench", Started = DateTimeOffset.UtcNow, Workers = pipeline.Workers, Decoder = pipeline.DecoderName, DecodeScaling = decodeScaling,
            BatchSize = batching.BatchSize, ImageSize = policy.Size, Views = policy.ViewCount, ChunkQueue = batching.ChunkQueue, Prefetch = batching.Prefetch,
            Deterministic = batching.Deterministic, Data = uri, Format = dataset.Format,
            ConsumerRate = consumerRate, WarmupSeconds = warmup,
        };
        var sampler = new PipelineSampler(pipeline.Stats, header, trace, file: null, intervalSeconds: 0.5);
        string text = captions is null ? "" : $", captions from '{dataset.Columns.GetValueOrDefault("text")}' tokenized by {captions.Name} into {captions.Context}-id rows";
        progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"bench: {uri} ({dataset.Format}, {dataset.ShardCount} shards, {dataset.SampleCount} samples), {pipeline.Workers} worker(s), {pipeline.DecoderName} decoder, " +
            $"batch {batching.BatchSize} x {policy.ViewCount} views at {policy.Size} px, {pipeline.Pool.Buffers} buffers = {pipeline.Pool.TotalBytes / 1e6:F1} MB, " +
            $"{seconds:F0} s ({warmup:F0} s warm-up){(consumerRate is { } r ? $", consumer {r:F0} images/s" : ", null consumer")}{text}"));

        // Token rows seen by the consumer: ids that are not padding (start and end included) and rows filled to the context.
        long captionRows = 0, captionIds = 0, fullRows = 0;

        var consumer = Task.Run(async () =>
        {
            try
            {
                await foreach (var lease in pipeline.ReadAllAsync(stop.Token).ConfigureAwait(false))
                {
                    long t0 = Stopwatch.GetTimestamp();
                    using var consuming = trace.Span("consumer", "consume batch");
                    int n = lease.Batch.Count;
                    diversity.Add(lease.Batch);
                    if (lease.Batch.TokenLengths is { } lengths)
                    {
                        for (int i = 0; i < n; i++)
                        {
                            captionIds += lengths[i];
                            if (lengths[i] == lease.Batch.Context) fullRows++;
                        }
                        captionRows += n;
                    }
                    if (consumerRate is { } rate)
                    {
                        // Hold the batch as long as a trainer at `rate` images/s would take over it.
                        var hold = TimeSpan.FromSeconds(n / rate) - Stopwatch.GetElapsedTime(t0);
                        if (hold > TimeSpan.Zero) await Task.Delay(hold, stop.Token).ConfigureAwait(false);
                    }
                    lease.Dispose();
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
        });

        using var process = Process.GetCurrentProcess();
        double Mb() { process.Refresh(); return process.WorkingSet64 / 1e6; }
        var clock = Stopwatch.StartNew();
        PipelineSnapshot? start = null;
        long allocStart = 0;
        double wsStart = 0, peak = 0;
        var cpuStart = TimeSpan.Zero; // the process's CPU time when the window opened
        var series = new List<double>(); // working set once a minute of the window
        var heapSeries = new List<double>(); // managed heap at the same moments
        double nextSeries = warmup;
        double chunkSum = 0, workerSum = 0, prefetchSum = 0;
        int samples = 0;
        var lastPrint = pipeline.Stats.Snapshot();
        // On a terminal a live display (warm-up and measured seconds, the last interval's rates); elsewhere a line every 5 s.
        using var live = display?.Start($"bench {uri}", warmup + seconds);
        long samplerAlloc = 0; // what this sampling loop allocates itself (reading /proc, formatting) is not the pipeline's
        while (clock.Elapsed.TotalSeconds < warmup + seconds && !consumer.IsCompleted)
        {
            await Task.Delay(250, ct).ConfigureAwait(false);
            long mine = GC.GetAllocatedBytesForCurrentThread();
            double t = clock.Elapsed.TotalSeconds;
            var now = pipeline.Stats.Snapshot();
            if (start is null && t >= warmup)
            {
                start = now;
                windowStarted?.Invoke();
                allocStart = GC.GetTotalAllocatedBytes(precise: true);
                wsStart = Mb();
                cpuStart = process.TotalProcessorTime;
            }
            if (start is not null)
            {
                double ws = Mb();
                peak = Math.Max(peak, ws);
                if (t >= nextSeries)
                {
                    series.Add(Math.Round(ws, 1));
                    heapSeries.Add(Math.Round(GC.GetGCMemoryInfo().HeapSizeBytes / 1e6, 1));
                    nextSeries += SeriesSeconds;
                }
                chunkSum += now.Queues.Chunks;
                workerSum += now.Queues.WorkerInput;
                prefetchSum += now.Queues.Prefetch;
                samples++;
            }
            if (live is not null && (now.Elapsed - lastPrint.Elapsed).TotalSeconds >= 1)
            {
                var interval = now.Since(lastPrint);
                live.Update(t, string.Create(CultureInfo.InvariantCulture,
                    $"{(start is null ? "warm-up" : "measuring")} · {interval.SamplesDone / Math.Max(1e-9, interval.Elapsed.TotalSeconds):F0} images/s · decode {interval.DecodeMillisecondsEach:F2} ms · working set {Mb():F0} MB"));
                lastPrint = now;
            }
            else if (live is null && (now.Elapsed - lastPrint.Elapsed).TotalSeconds >= 5)
            {
                progress.WriteLine($"{t,6:F0} s  {now.Since(lastPrint).Summary()} | working set {Mb():F0} MB | {GcSummary()}");
                lastPrint = now;
            }
            if (start is not null) samplerAlloc += GC.GetAllocatedBytesForCurrentThread() - mine;
        }
        if (consumer.IsCompleted) await consumer.ConfigureAwait(false); // surfaces a pipeline fault
        var end = pipeline.Stats.Snapshot();
        long allocEnd = GC.GetTotalAllocatedBytes(precise: true);
        double wsEnd = Mb();
        var cpu = process.TotalProcessorTime - cpuStart;
        await sampler.DisposeAsync().ConfigureAwait(false);
        if (start is { } from)
        {
            double heapMb = GC.GetGCMemoryInfo().HeapSizeBytes / 1e6;
            var inside = sampler.Points.Where(p => p.Seconds > from.Elapsed.TotalSeconds && p.Seconds < end.Elapsed.TotalSeconds);
            Profile = (header, [ProfilePoint.From(from, wsStart, heapMb), .. inside, ProfilePoint.From(end, wsEnd, heapMb)]);
        }
        // How long the whole graph takes to stop once cancelled: every block drained, every lease back.
        long stopStart = Stopwatch.GetTimestamp();
        stop.Cancel();
        await consumer.ConfigureAwait(false);
        try { await pipeline.Completion.ConfigureAwait(false); } catch (OperationCanceledException) { }
        double stopMs = Stopwatch.GetElapsedTime(stopStart).TotalMilliseconds;
        int leasesOut = pipeline.Pool.Outstanding;
        var mix = diversity.Snapshot(); // the consumer has ended
        if (start is null) throw new InvalidOperationException("the bench ended before its warm-up did");

        var w = end.Since(start.Value);
        int k = Math.Max(1, samples);
        var q = end.Queues;
        double chunkAvg = chunkSum / k, workerAvg = workerSum / k, prefetchAvg = prefetchSum / k;
        // Share of the workers' wall time spent decoding and augmenting: near 1 means they are the limit.
        double utilization = (w.DecodeTime + w.AugmentTime).TotalSeconds / Math.Max(1e-9, w.Elapsed.TotalSeconds * pipeline.Workers);
        string bottleneck =
            prefetchAvg >= 0.75 * q.PrefetchCapacity ? "consumer (the prefetch queue stays full: the pipeline is ahead of it)"
            : utilization >= 0.8 ? $"decode + augment workers ({utilization:P0} busy; decode {w.DecodeMillisecondsEach:F2} ms/image, augment {w.AugmentMillisecondsEach:F2} ms/view)"
            : chunkAvg + workerAvg < 0.5 ? $"reading (chunk queues nearly empty, workers {utilization:P0} busy)"
            : $"none dominant: workers {utilization:P0} busy, queues neither full nor empty (CPU shared with the reader and GC?)";
        double images = w.SamplesDone / Math.Max(1e-9, w.Elapsed.TotalSeconds);
        return new BenchResult
        {
            Diversity = mix.Batches > 0 ? DiversityResult.From(mix) : null,
            Captions = captions is null ? null : new CaptionBenchResult
            {
                Tokenizer = captions.Name,
                Context = captions.Context,
                Column = dataset.Columns.GetValueOrDefault("text"),
                Captions = captionRows,
                TokensPerCaption = captionRows == 0 ? 0 : Math.Round((double)captionIds / captionRows, 2),
                FullRowShare = captionRows == 0 ? 0 : Math.Round((double)fullRows / captionRows, 4),
            },
            ImagesPerSec = Math.Round(images, 1),
            ViewsPerSec = Math.Round(w.ViewsPerSecond, 1),
            Batches = w.Batches,
            Workers = pipeline.Workers,
            Decoder = pipeline.DecoderName,
            AllocBytesPerImage = w.SamplesDone == 0 ? 0 : Math.Round((double)(allocEnd - allocStart - samplerAlloc) / w.SamplesDone),
            CpuMillisecondsPerImage = w.SamplesDone == 0 ? 0 : Math.Round(cpu.TotalMilliseconds / w.SamplesDone, 4),
            CpuCores = Math.Round(cpu.TotalSeconds / Math.Max(1e-9, w.Elapsed.TotalSeconds), 2),
            PeakWorkingSetMb = Math.Round(peak, 1),
            WorkingSetStartMb = Math.Round(wsStart, 1),
            WorkingSetEndMb = Math.Round(wsEnd, 1),
            WorkingSetSeriesMb = series,
            ManagedHeapSeriesMb = heapSeries,
            SeriesIntervalSeconds = SeriesSeconds,
            StopMilliseconds = Math.Round(stopMs, 1),
            LeasesOutAfterStop = leasesOut,
            Starvation = Math.Round(w.Starvation, 4),
            Seconds = Math.Round(w.Elapsed.TotalSeconds, 2),
            WarmupSeconds = warmup,
            BatchSize = batching.BatchSize,
            ImageSize = policy.Size,
            ConsumerRate = consumerRate,
            BadSamples = end.BadSamples,
            BadSamplesByShard = pipeline.Stats.BadByShard,
            Bottleneck = bottleneck,
            StageRates = new()
            {
                ["read_images_per_sec"] = Math.Round(w.ReadSamplesPerSecond, 1),
                ["read_mb_per_sec"] = Math.Round(w.ReadMegabytesPerSecond, 2),
                ["decode_images_per_sec"] = Math.Round(w.DecodedPerSecond, 1),
                ["decode_ms_per_image"] = Math.Round(w.DecodeMillisecondsEach, 3),
                ["augment_views_per_sec"] = Math.Round(w.ViewsPerSecond, 1),
                ["augment_ms_per_view"] = Math.Round(w.AugmentMillisecondsEach, 3),
                ["decode_alloc_bytes_per_image"] = Math.Round(w.DecodeBytesAllocatedEach),
                ["augment_alloc_bytes_per_view"] = Math.Round(w.AugmentBytesAllocatedEach),
                ["batches_per_sec"] = Math.Round(w.BatchesPerSecond, 2),
                ["worker_utilization"] = Math.Round(utilization, 3),
                ["reader_busy"] = Math.Round(w.ReaderBusy, 3),
                ["decode_busy"] = Math.Round(w.DecodeTime.TotalSeconds / Math.Max(1e-9, w.Elapsed.TotalSeconds * pipeline.Workers), 3),
                ["augment_busy"] = Math.Round(w.AugmentTime.TotalSeconds / Math.Max(1e-9, w.Elapsed.TotalSeconds * pipeline.Workers), 3),
                ["queue_chunks_avg"] = Math.Round(chunkAvg, 2),
                ["queue_chunks_capacity"] = q.ChunkCapacity,
                ["queue_workers_avg"] = Math.Round(workerAvg, 2),
                ["queue_workers_capacity"] = q.WorkerCapacity,
                ["queue_prefetch_avg"] = Math.Round(prefetchAvg, 2),
                ["queue_prefetch_capacity"] = q.PrefetchCapacity,
            },
        };
    }

    /// <summary>The managed heap by generation after the last collection, and collections so far: where memory sits.</summary>
    internal static string GcSummary()
    {
        var info = GC.GetGCMemoryInfo(GCKind.Any);
        var g = info.GenerationInfo;
        static string Mb(long b) => (b / 1e6).ToString("F0", CultureInfo.InvariantCulture);
        return g.Length < 5 ? $"heap {Mb(info.HeapSizeBytes)} MB" :
            $"heap {Mb(info.HeapSizeBytes)} MB (gen0 {Mb(g[0].SizeAfterBytes)}, gen1 {Mb(g[1].SizeAfterBytes)}, gen2 {Mb(g[2].SizeAfterBytes)}, " +
            $"large {Mb(g[3].SizeAfterBytes)}, pinned {Mb(g[4].SizeAfterBytes)}; fragmented {Mb(info.FragmentedBytes)}), " +
            $"GCs {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)} | chunk buffers {Mb(ChunkBufferPool.AllocatedBytes)} MB " +
            $"({ChunkBufferPool.AllocatedArrays} allocated, {ChunkBufferPool.OutstandingArrays} out)";
    }

    /// <summary>
    /// Ingest alone: reads chunks (the encoded bytes handed on, nothing decoded) on the calling thread for the
    /// given time and reports samples/s, MB/s and bytes allocated per sample.
    /// </summary>
    public async Task<BenchResult> RunIngestAsync(CancellationToken ct)
    {
        var dataset = await OpenAsync(ct).ConfigureAwait(false);
        double warmup = Warmup;
        progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"bench --stage ingest: {uri} ({dataset.Format}, {dataset.ShardCount} shards, {dataset.SampleCount} samples), one thread, {seconds:F0} s ({warmup:F0} s warm-up)"));
        var clock = Stopwatch.StartNew();
        long samples = 0, bytes = 0, chunks = 0, alloc0 = 0;
        double t0 = 0;
        bool measuring = false;
        long checksum = 0;
        for (int epoch = 0; clock.Elapsed.TotalSeconds < warmup + seconds; epoch++)
        {
            await foreach (var chunk in dataset.ReadAsync(data.WithBuffer(new ReadPlan(epoch, 0, Shuffle: true, HoldoutSplit.None)), ct).ConfigureAwait(false))
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
                if (clock.Elapsed.TotalSeconds >= warmup + seconds) break;
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
        try { return await ImageDataset.OpenAsync(uri, data.ImageColumn, data.LabelColumn, data.TextColumn, ct).ConfigureAwait(false); }
        catch (DataSourceException e) { throw new UsageException($"--data: {e.Message}", e); }
        catch (ShardFormatException e) when (data.TextColumn is not null && e.Column == data.TextColumn)
        {
            throw new UsageException($"{textColumnOption}: {e.Message}", e); // the named caption column is not in the data
        }
    }

    /// <summary>The human-readable report: one line per stage, so the bottleneck is plain.</summary>
    public static void Print(BenchResult r, TextWriter o)
    {
        var s = r.StageRates;
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"measured {r.Seconds:F1} s after a {r.WarmupSeconds:F0} s warm-up; {r.Workers} worker(s), {r.Decoder} decoder, batch {r.BatchSize}, {r.ImageSize} px"));
        o.WriteLine("stage      rate                     time each      queue before it (avg / capacity)");
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"read       {s["read_images_per_sec"],8:F0} img/s {s["read_mb_per_sec"],7:F1} MB/s"));
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"decode     {s["decode_images_per_sec"],8:F0} img/s            {s["decode_ms_per_image"],7:F3} ms     chunks  {s["queue_chunks_avg"]:F1} / {s["queue_chunks_capacity"]:F0}"));
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"augment    {s["augment_views_per_sec"],8:F0} views/s          {s["augment_ms_per_view"],7:F3} ms     workers {s["queue_workers_avg"]:F1} / {s["queue_workers_capacity"]:F0} (workers {s["worker_utilization"]:P0} busy)"));
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"batches    {s["batches_per_sec"],8:F2} /s                               prefetch {s["queue_prefetch_avg"]:F1} / {s["queue_prefetch_capacity"]:F0}"));
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"consumer   starvation {r.Starvation:P1}{(r.ConsumerRate is { } c ? $" (simulated trainer at {c:F0} images/s)" : " (null consumer: it only waits, so starvation is 100% by design)")}"));
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"total      {r.ImagesPerSec:F0} images/s, {r.ViewsPerSec:F0} views/s, {r.Batches} batches; allocated {r.AllocBytesPerImage:F0} B/image; CPU {r.CpuMillisecondsPerImage:F3} ms/image ({r.CpuCores:F2} cores); working set {r.WorkingSetStartMb:F0} -> {r.WorkingSetEndMb:F0} MB (peak {r.PeakWorkingSetMb:F0} MB); bad samples {r.BadSamples}"));
        if (r.BadSamplesByShard.Count > 0)
            o.WriteLine("bad samples by shard: " + string.Join(", ", r.BadSamplesByShard.Select(kv => $"{kv.Key}: {kv.Value}")));
        if (r.Captions is { } t)
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"captions   tokenized by the workers ({t.Tokenizer}, {t.Context}-id rows, from '{t.Column}'): {t.TokensPerCaption:F1} ids per caption on average (start and end included), {t.FullRowShare:P1} filled the row (cut if longer), {t.Captions} captions"));
        if (r.Diversity is { } d)
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"batches mix {(d.UniformDistinctLabels > 0 ? $"{d.MeanDistinctLabels:F1} labels each (uniform sampling {d.UniformDistinctLabels:F1}, {d.Ratio:P0}), " : "")}largest share from one read unit {d.LargestUnitShare:P0}"));
        o.WriteLine($"bottleneck: {r.Bottleneck}");
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"stopped in {r.StopMilliseconds:F0} ms after cancellation, {r.LeasesOutAfterStop} lease(s) still out"));
    }
}
