using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Contrastive.Augment;
using Contrastive.Ingest;
using SkiaSharp;

namespace Contrastive.Batching.Tests;

public class DeterminismAndMetricsTests
{
    private static byte[] Jpeg(int seed)
    {
        using var bmp = new SKBitmap(20 + seed % 7, 16 + seed % 5);
        using (var c = new SKCanvas(bmp)) c.Clear(new SKColor((byte)(seed * 37), (byte)(seed * 91), (byte)(seed * 53)));
        using var img = SKImage.FromBitmap(bmp);
        using var data = img.Encode(SKEncodedImageFormat.Jpeg, 90);
        return data.ToArray();
    }

    private static readonly byte[][] Images = Enumerable.Range(0, 16).Select(Jpeg).ToArray();

    private static async IAsyncEnumerable<SampleChunk> Chunks(int chunks, int perChunk, [EnumeratorCancellation] CancellationToken ct = default)
    {
        for (int c = 0; c < chunks; c++)
        {
            await Task.Yield();
            var idx = Enumerable.Range(c * perChunk, perChunk).Select(i => (long)i).ToArray();
            var imgs = idx.Select(i => i % 11 == 5 ? null : Images[i % Images.Length]).ToArray(); // a few bad samples
            yield return new SampleChunk("mem://s", c, 0, imgs, idx.Select(i => i % 4).ToArray(), idx, idx.Select(i => $"k{i}").ToArray());
        }
    }

    /// <summary>A decoder that sleeps a sample-dependent time, so that workers finish out of order.</summary>
    private sealed class JitteryDecoder : IImageDecoder
    {
        private readonly SkiaImageDecoder _inner = new();
        public string Name => "jittery";
        public void Decode(ReadOnlySpan<byte> encoded, PixelBuffer output)
        {
            Thread.Sleep(encoded.Length % 3);
            _inner.Decode(encoded, output);
        }
    }

    private static async Task<List<(long[] Indices, string?[] Keys, byte[] Pixels)>> Run(int workers, bool deterministic)
    {
        var options = new BatchingOptions { BatchSize = 6, Workers = workers, Deterministic = deterministic, BadSampleAllowance = 100 };
        var settings = new PipelineSettings(new SimClrViewPolicy(new AugmentOptions { Size = 8 }), 7, DropLast: false, () => new JitteryDecoder());
        await using var p = InputPipeline.Start(Chunks(12, 5), options, settings);
        var batches = new List<(long[], string?[], byte[])>();
        await foreach (var lease in p.ReadAllAsync())
        {
            using (lease)
            {
                var b = lease.Batch;
                var pixels = new List<byte>();
                for (int v = 0; v < 2; v++)
                    for (int i = 0; i < b.Count; i++) pixels.AddRange(b.ViewSlot(v, i).ToArray());
                batches.Add((b.Indices[..b.Count], b.Keys[..b.Count], pixels.ToArray()));
            }
        }
        Assert.Equal(0, p.Pool.Outstanding);
        return batches;
    }

    [Fact]
    public async Task Deterministic_mode_gives_identical_batches_whatever_the_worker_count()
    {
        var one = await Run(1, deterministic: true);
        var three = await Run(3, deterministic: true);
        var again = await Run(3, deterministic: true);
        Assert.Equal(one.Count, three.Count);
        for (int b = 0; b < one.Count; b++)
        {
            Assert.Equal(one[b].Indices, three[b].Indices);
            Assert.Equal(one[b].Pixels, three[b].Pixels);
            Assert.Equal(three[b].Pixels, again[b].Pixels);
            Assert.Equal(one[b].Indices.Select(i => $"k{i}"), one[b].Keys);
        }
        // Stream order, bad samples (i % 11 == 5) skipped, batches of 6.
        var expected = Enumerable.Range(0, 60).Where(i => i % 11 != 5).Select(i => (long)i).ToArray();
        Assert.Equal(expected, one.SelectMany(b => b.Indices));
    }

    [Fact]
    public async Task Unordered_mode_delivers_the_same_samples_with_the_same_views()
    {
        var ordered = (await Run(1, deterministic: true)).SelectMany(b => b.Indices).Order();
        var unordered = (await Run(3, deterministic: false)).SelectMany(b => b.Indices).Order();
        Assert.Equal(ordered, unordered);
    }

    private sealed class TimeoutDecoder : IImageDecoder
    {
        public string Name => "timeout";
        public void Decode(ReadOnlySpan<byte> encoded, PixelBuffer output) => throw new OperationCanceledException("simulated I/O timeout");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_stray_OperationCanceledException_in_a_worker_is_a_real_error_not_a_silent_skip(bool deterministic)
    {
        var options = new BatchingOptions { BatchSize = 4, Workers = 2, Deterministic = deterministic };
        var settings = new PipelineSettings(new SimClrViewPolicy(new AugmentOptions { Size = 8 }), 1, false, () => new TimeoutDecoder());
        await using var p = InputPipeline.Start(Chunks(3, 5), options, settings);
        var e = await Assert.ThrowsAsync<IOException>(async () =>
        {
            await foreach (var lease in p.ReadAllAsync()) lease.Dispose();
        });
        Assert.Contains("mem://s", e.Message);
        Assert.IsType<OperationCanceledException>(e.InnerException);
        await p.DisposeAsync();
        Assert.Equal(0, p.Pool.Outstanding);
    }

    [Fact]
    public async Task Stage_figures_reach_the_meter_and_the_snapshot()
    {
        var seen = new Dictionary<string, double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (i, l) => { if (i.Meter.Name == PipelineMetrics.MeterName) l.EnableMeasurementEvents(i); };
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => { if (HasTag(tags, "metrics-test")) lock (seen) seen[i.Name] = v; });
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => { if (HasTag(tags, "metrics-test")) lock (seen) seen[i.Name] = v; });
        listener.SetMeasurementEventCallback<int>((i, v, tags, _) => { if (HasTag(tags, "metrics-test")) lock (seen) seen[i.Name + "/" + QueueTag(tags)] = v; });
        listener.Start();

        var settings = new PipelineSettings(new SimClrViewPolicy(new AugmentOptions { Size = 8 }), 1, false, Name: "metrics-test");
        await using var p = InputPipeline.Start(Chunks(4, 5), new BatchingOptions { BatchSize = 4, Workers = 2, BadSampleAllowance = 100 }, settings);
        await foreach (var lease in p.ReadAllAsync()) lease.Dispose();
        await p.Completion;
        listener.RecordObservableInstruments();

        var s = p.Stats.Snapshot();
        Assert.Equal(20, s.SamplesRead);
        Assert.Equal(20 - 2, s.Decoded); // indices 5 and 16 are bad
        Assert.Equal(2 * 18, s.Views);
        Assert.Equal(2, s.BadSamples);
        Assert.Equal(20, seen["contrastive.pipeline.samples_read"]);
        Assert.Equal(36, seen["contrastive.pipeline.views_written"]);
        Assert.Equal(2, seen["contrastive.pipeline.bad_samples"]);
        Assert.Equal(s.Batches, seen["contrastive.pipeline.batches"]);
        Assert.Equal(0, seen["contrastive.pipeline.queue_occupancy/leases"]);
        Assert.Contains("augment", s.Summary());
        Assert.Contains("starvation", s.Summary());
    }

    private static bool HasTag(ReadOnlySpan<KeyValuePair<string, object?>> tags, string pipeline)
    {
        foreach (var t in tags) if (t.Key == "pipeline" && (string?)t.Value == pipeline) return true;
        return false;
    }

    private static string? QueueTag(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        foreach (var t in tags) if (t.Key == "queue") return (string?)t.Value;
        return null;
    }
}
