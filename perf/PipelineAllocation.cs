using System.Diagnostics;
using Contrastive.Augment;
using Contrastive.Batching;
using Contrastive.Ingest;

namespace Contrastive.Perf;

/// <summary>
/// `dotnet run -c Release --project perf -- pipeline-alloc DIR [SIZE] [WORKERS] [SECONDS] [live]`: managed bytes
/// allocated per image by the input pipeline over chunks preloaded from DIR (Parquet reading excluded), or with
/// `live`, read from DIR as `contrastive bench` does. Separates where allocations come from.
/// </summary>
public static class PipelineAllocation
{
    public static async Task RunAsync(string[] args)
    {
        string dir = args[0];
        int size = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 224;
        int workers = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 1;
        double seconds = args.Length > 3 ? double.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 10;
        bool live = args.Length > 4 && args[4] == "live";
        var ds = await ParquetImageDataset.OpenAsync(dir);

        // Reading alone, into memory (copies: these chunks outlive their pooled buffers).
        var chunks = new List<SampleChunk>();
        long a0 = GC.GetTotalAllocatedBytes(true);
        var sw = Stopwatch.StartNew();
        await foreach (var c in ds.ReadAsync(new ReadPlan(0, 0, false, HoldoutSplit.None)))
        {
            using (c)
                chunks.Add(new SampleChunk(c.Shard, c.Part, 0, c.Images.Select(m => (byte[]?)m.ToArray()).ToArray(), c.Labels, c.Indices, c.Keys));
        }
        Console.WriteLine($"read {ds.SampleCount} samples in {sw.Elapsed.TotalSeconds:F2} s (allocation includes the copies kept: {(GC.GetTotalAllocatedBytes(true) - a0) / (double)ds.SampleCount:F0} B/sample)");

        async IAsyncEnumerable<SampleChunk> Preloaded()
        {
            for (int e = 0; ; e++)
            {
                foreach (var c in chunks)
                {
                    await Task.Yield();
                    yield return new SampleChunk(c.Shard, c.Part, e, c.Images, c.Labels, c.Indices, c.Keys);
                }
            }
        }

        var options = new BatchingOptions { BatchSize = 64, Workers = workers };
        var settings = new PipelineSettings(new SimClrViewPolicy(new AugmentOptions { Size = size }), 0, true, Name: "perf", TrainerSharesCpu: false);
        using var cts = new CancellationTokenSource();
        await using var p = InputPipeline.Start(live ? ds.ReadEpochsAsync(e => new ReadPlan(e, 0, true, HoldoutSplit.None)) : Preloaded(), options, settings, cts.Token);
        long images0 = 0, alloc0 = 0;
        var clock = Stopwatch.StartNew();
        bool measuring = false;
        try
        {
            await foreach (var lease in p.ReadAllAsync(cts.Token))
            {
                lease.Dispose();
                if (!measuring && clock.Elapsed.TotalSeconds > 3)
                {
                    measuring = true;
                    images0 = p.Stats.SamplesDone;
                    alloc0 = GC.GetTotalAllocatedBytes(true);
                    clock.Restart();
                }
                if (measuring && clock.Elapsed.TotalSeconds > seconds) break;
            }
        }
        finally
        {
            cts.Cancel();
        }
        long images = p.Stats.SamplesDone - images0;
        long alloc = GC.GetTotalAllocatedBytes(true) - alloc0;
        var s = p.Stats.Snapshot();
        Console.WriteLine($"pipeline over {(live ? "live-read" : "preloaded")} chunks, {workers} worker(s), {size} px: {images / clock.Elapsed.TotalSeconds:F0} images/s, " +
            $"{(double)alloc / images:F0} B allocated per image (decode {s.DecodeBytesAllocatedEach:F0} B/image, augment {s.AugmentBytesAllocatedEach:F0} B/view)");
    }
}
