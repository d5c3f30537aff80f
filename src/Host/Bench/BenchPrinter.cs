using Contrastive.Ingest;
using System.Globalization;

namespace Contrastive.Host;

/// <summary>What `bench` prints: the per-stage table and, every few seconds without a live display, a line of where memory sits.</summary>
internal static class BenchPrinter
{
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
}
