using System.Runtime.CompilerServices;
using Contrastive.Augment;
using Contrastive.Ingest;
using SkiaSharp;

namespace Contrastive.Batching.Tests;

public class InputPipelineTests
{
    private static readonly byte[] Jpeg = MakeJpeg();

    private static byte[] MakeJpeg()
    {
        using var bmp = new SKBitmap(24, 20);
        using (var c = new SKCanvas(bmp)) c.Clear(new SKColor(30, 120, 200));
        using var img = SKImage.FromBitmap(bmp);
        using var data = img.Encode(SKEncodedImageFormat.Jpeg, 90);
        return data.ToArray();
    }

    private static async IAsyncEnumerable<SampleChunk> Chunks(int chunks, int perChunk, Func<long, byte[]?>? bytes = null, Exception? failAfter = null,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        for (int c = 0; c < chunks; c++)
        {
            await Task.Yield();
            ct.ThrowIfCancellationRequested();
            var imgs = new byte[]?[perChunk];
            var labels = new long[perChunk];
            var idx = new long[perChunk];
            for (int i = 0; i < perChunk; i++)
            {
                long n = (long)c * perChunk + i;
                imgs[i] = bytes is null ? Jpeg : bytes(n);
                labels[i] = n % 3;
                idx[i] = n;
            }
            yield return new SampleChunk($"mem://shard-{c % 2}", c, 0, imgs, labels, idx, null);
        }
        if (failAfter is not null) throw failAfter;
    }

    private static PipelineSettings Settings(bool dropLast = false) => new(new SimClrViewPolicy(new AugmentOptions { Size = 8 }), 1, dropLast);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task Every_sample_arrives_exactly_once_and_every_lease_returns(int workers)
    {
        var options = new BatchingOptions { BatchSize = 7, Workers = workers, Prefetch = 2 };
        await using var p = InputPipeline.Start(Chunks(10, 9), options, Settings());
        var seen = new List<long>();
        await foreach (var lease in p.ReadAllAsync())
        {
            using (lease)
            {
                Assert.Equal(2, lease.Batch.Views);
                for (int i = 0; i < lease.Batch.Count; i++)
                {
                    seen.Add(lease.Batch.Indices[i]);
                    Assert.Equal(lease.Batch.Indices[i] % 3, lease.Batch.Labels[i]);
                }
            }
        }
        await p.Completion;
        Assert.Equal(Enumerable.Range(0, 90).Select(i => (long)i), seen.Order());
        Assert.Equal(0, p.Pool.Outstanding);
        Assert.Equal(90, p.Stats.SamplesDone);
        Assert.Equal(13, p.Stats.Batches); // 12 full batches of 7 and one of 6
    }

    [Fact]
    public async Task Views_in_the_batch_equal_the_policy_output_for_that_sample()
    {
        var settings = Settings(dropLast: true);
        await using var p = InputPipeline.Start(Chunks(2, 5), new BatchingOptions { BatchSize = 4, Workers = 2 }, settings);
        var decoded = new PixelBuffer();
        new SkiaImageDecoder().Decode(Jpeg, decoded);
        int batches = 0;
        await foreach (var lease in p.ReadAllAsync())
        {
            using (lease)
            {
                batches++;
                Assert.Equal(4, lease.Batch.Count);
                for (int i = 0; i < lease.Batch.Count; i++)
                    for (int v = 0; v < 2; v++)
                    {
                        var expect = new byte[3 * 8 * 8];
                        ((ImageSampleProcessor)settings.Processor).Policy.WriteView(decoded, v, 1, 0, lease.Batch.Indices[i], expect, new ViewWorkspace());
                        Assert.Equal(expect, lease.Batch.ViewSlot(v, i).ToArray());
                    }
            }
        }
        Assert.Equal(2, batches); // 10 samples, batches of 4, the partial one dropped
        Assert.Equal(0, p.Pool.Outstanding);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Multi_crop_views_of_two_sizes_land_in_their_slots_as_the_policy_makes_them(bool deterministic)
    {
        var policy = new MultiCropViewPolicy(new AugmentOptions { Size = 21 }, new MultiCropOptions { LocalViews = 3 });
        Assert.Equal(9, policy.LocalSize); // 3/7 of 21
        var settings = new PipelineSettings(new ImageSampleProcessor(policy), 1, DropLast: false);
        await using var p = InputPipeline.Start(Chunks(3, 5), new BatchingOptions { BatchSize = 4, Workers = 2, Deterministic = deterministic }, settings);
        var decoded = new PixelBuffer();
        new SkiaImageDecoder().Decode(Jpeg, decoded);
        int samples = 0;
        await foreach (var lease in p.ReadAllAsync())
        {
            using (lease)
            {
                var b = lease.Batch;
                Assert.Equal(5, b.Views);
                Assert.Equal([21, 21, 9, 9, 9], Enumerable.Range(0, 5).Select(b.ViewSize));
                Assert.Equal(4L * (2 * 3 * 21 * 21), b.ViewOffset(2));
                for (int i = 0; i < b.Count; i++, samples++)
                    for (int v = 0; v < 5; v++)
                    {
                        var expect = new byte[3 * b.ViewSize(v) * b.ViewSize(v)];
                        policy.WriteView(decoded, v, 1, 0, b.Indices[i], expect, new ViewWorkspace());
                        Assert.Equal(expect, b.ViewSlot(v, i).ToArray());
                    }
            }
        }
        Assert.Equal(15, samples);
        Assert.Equal(0, p.Pool.Outstanding);
    }

    public static TheoryData<string> Policies => ["simclr", "byol-asymmetric", "dino-multicrop"];

    private static IViewPolicy PolicyNamed(string name) => name switch
    {
        "simclr" => new SimClrViewPolicy(new AugmentOptions { Size = 16 }),
        "byol-asymmetric" => new SimClrViewPolicy(new AugmentOptions { Size = 16, ScaleMin = 0.08, Asymmetric = true }),
        _ => new MultiCropViewPolicy(new AugmentOptions { Size = 21 }, new MultiCropOptions { LocalViews = 2 }),
    };

    [Theory]
    [MemberData(nameof(Policies))]
    public async Task Every_policy_gives_each_sample_the_same_views_whatever_the_worker_count_and_assembly_order(string name)
    {
        async Task<Dictionary<(long, int), byte[]>> Views(int workers, bool deterministic)
        {
            var settings = new PipelineSettings(new ImageSampleProcessor(PolicyNamed(name)), 11, DropLast: false);
            await using var p = InputPipeline.Start(Chunks(4, 6), new BatchingOptions { BatchSize = 5, Workers = workers, Deterministic = deterministic }, settings);
            var views = new Dictionary<(long, int), byte[]>();
            await foreach (var lease in p.ReadAllAsync())
                using (lease)
                    for (int i = 0; i < lease.Batch.Count; i++)
                        for (int v = 0; v < lease.Batch.Views; v++)
                            views.Add((lease.Batch.Indices[i], v), lease.Batch.ViewSlot(v, i).ToArray());
            return views;
        }
        var one = await Views(1, deterministic: true);
        Assert.Equal(24 * PolicyNamed(name).ViewCount, one.Count);
        Assert.NotEqual(one[(0, 0)], one[(0, 1)]); // views of a sample differ
        foreach (var (workers, deterministic) in new[] { (3, false), (2, true) })
        {
            var other = await Views(workers, deterministic);
            Assert.Equal(one.Keys.Order(), other.Keys.Order());
            foreach (var (key, bytes) in one) Assert.True(bytes.AsSpan().SequenceEqual(other[key]), $"{name}: sample {key.Item1} view {key.Item2} differs with {workers} workers");
        }
    }

    private sealed class CountingDecoder(int[] disposed) : IImageDecoder, IDisposable
    {
        private readonly SkiaImageDecoder _inner = new();
        public string Name => "counting";
        public void Decode(ReadOnlySpan<byte> encoded, PixelBuffer output) => _inner.Decode(encoded, output);
        public void Dispose() => Interlocked.Increment(ref disposed[0]);
    }

    [Fact]
    public async Task The_pipeline_disposes_every_decoder_it_made()
    {
        int created = 0;
        var disposed = new int[1];
        var settings = new PipelineSettings(new SimClrViewPolicy(new AugmentOptions { Size = 8 }), 1, false,
            () => { Interlocked.Increment(ref created); return new CountingDecoder(disposed); });
        var p = InputPipeline.Start(Chunks(6, 5), new BatchingOptions { BatchSize = 4, Workers = 3 }, settings);
        await foreach (var lease in p.ReadAllAsync()) lease.Dispose();
        await p.DisposeAsync();
        Assert.Equal("counting", p.DecoderName);
        Assert.True(created >= 2, $"{created} decoders"); // the name's, and at least one worker's
        Assert.Equal(created, disposed[0]);
    }

    [Fact]
    public async Task Bad_samples_are_skipped_and_counted_within_the_budget()
    {
        var options = new BatchingOptions { BatchSize = 5, Workers = 2, BadSampleAllowance = 5, MaxBadSampleFraction = 0.5 };
        await using var p = InputPipeline.Start(Chunks(4, 10, n => n % 10 == 3 ? [0xFF, 0xD8, 1, 2] : Jpeg), options, Settings());
        long samples = 0;
        await foreach (var lease in p.ReadAllAsync()) using (lease) samples += lease.Batch.Count;
        Assert.Equal(36, samples);
        Assert.Equal(4, p.Stats.BadSamples);
        Assert.Contains(p.Stats.BadExamples, e => e.Contains("mem://shard"));
        Assert.Equal(new Dictionary<string, long> { ["mem://shard-0"] = 2, ["mem://shard-1"] = 2 }, p.Stats.BadByShard);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Each_batch_counts_the_bad_samples_before_its_cursor_whatever_was_read_ahead(bool deterministic)
    {
        // Samples 3, 13, 23, 33 are bad (chunks 0-3, shards 0, 1, 0, 1). One worker: batch composition is the read order.
        var options = new BatchingOptions { BatchSize = 5, Workers = 1, Deterministic = deterministic, BadSampleAllowance = 5, MaxBadSampleFraction = 0.5 };
        await using var p = InputPipeline.Start(Chunks(4, 10, n => n % 10 == 3 ? [0xFF, 0xD8, 1, 2] : Jpeg), options, Settings());
        var seen = new List<(long Last, long Skipped)>();
        await foreach (var lease in p.ReadAllAsync())
            using (lease)
                seen.Add((lease.Batch.Indices[lease.Batch.Count - 1], lease.Batch.SkippedBefore));
        Assert.Equal(8, seen.Count);
        foreach (var (last, skipped) in seen) Assert.Equal(Enumerable.Range(0, 40).Count(n => n % 10 == 3 && n < last), skipped);
        Assert.Equal(new Dictionary<string, long> { ["mem://shard-0"] = 2, ["mem://shard-1"] = 2 }, p.SkippedBefore(seen[^1].Skipped));
        Assert.Equal(new Dictionary<string, long> { ["mem://shard-0"] = 1, ["mem://shard-1"] = 1 }, p.SkippedBefore(2));

        // A consumer that stops after two batches (samples 0-10) had one bad sample skipped from its data.
        await using var q = InputPipeline.Start(Chunks(4, 10, n => n % 10 == 3 ? [0xFF, 0xD8, 1, 2] : Jpeg), new BatchingOptions { BatchSize = 5, Workers = 1, Deterministic = deterministic, BadSampleAllowance = 5, MaxBadSampleFraction = 0.5, Prefetch = 4 }, Settings());
        long before = -1;
        int taken = 0;
        await foreach (var lease in q.ReadAllAsync())
        {
            using (lease) before = lease.Batch.SkippedBefore;
            if (++taken == 2) break;
        }
        Assert.Equal(1, before);
        Assert.Equal(new Dictionary<string, long> { ["mem://shard-0"] = 1 }, q.SkippedBefore(before));
    }

    [Fact]
    public async Task Exceeding_the_bad_sample_budget_fails_the_run_with_counts()
    {
        var options = new BatchingOptions { BatchSize = 5, Workers = 1, BadSampleAllowance = 2, MaxBadSampleFraction = 0.01 };
        await using var p = InputPipeline.Start(Chunks(4, 10, n => n % 2 == 0 ? null : Jpeg), options, Settings());
        var e = await Assert.ThrowsAsync<BadSampleBudgetException>(async () =>
        {
            await foreach (var lease in p.ReadAllAsync()) lease.Dispose();
        });
        Assert.Contains("could not be decoded", e.Message);
        await p.DisposeAsync();
        Assert.Equal(0, p.Pool.Outstanding);
    }

    [Fact]
    public async Task A_source_fault_reaches_the_consumer_as_the_original_exception_and_leases_return()
    {
        var boom = new InvalidDataException("shard x is truncated");
        var options = new BatchingOptions { BatchSize = 4, Workers = 2 };
        await using var p = InputPipeline.Start(Chunks(3, 6, failAfter: boom), options, Settings());
        var e = await Assert.ThrowsAsync<InvalidDataException>(async () =>
        {
            await foreach (var lease in p.ReadAllAsync()) lease.Dispose();
        });
        Assert.Same(boom, e);
        await p.DisposeAsync();
        Assert.Equal(0, p.Pool.Outstanding);
    }

    [Fact]
    public async Task Cancelling_stops_the_graph_and_returns_every_lease()
    {
        using var cts = new CancellationTokenSource();
        var options = new BatchingOptions { BatchSize = 4, Workers = 2, Prefetch = 2 };
        var p = InputPipeline.Start(Chunks(10_000, 8), options, Settings(), cts.Token);
        int taken = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var lease in p.ReadAllAsync(cts.Token))
            {
                lease.Dispose();
                if (++taken == 3) cts.Cancel();
            }
        });
        await p.DisposeAsync();
        Assert.Equal(0, p.Pool.Outstanding);
        Assert.True(p.Stats.SamplesRead < 10_000 * 8);
    }

    [Fact]
    public async Task A_slow_consumer_bounds_the_work_in_flight()
    {
        var options = new BatchingOptions { BatchSize = 4, Workers = 2, Prefetch = 2, ChunkQueue = 2 };
        await using var p = InputPipeline.Start(Chunks(1000, 4), options, Settings());
        await using var e = p.ReadAllAsync().GetAsyncEnumerator();
        Assert.True(await e.MoveNextAsync());
        // Hold the first batch and wait until the pipeline can do no more.
        long before;
        do
        {
            before = p.Stats.SamplesRead;
            await Task.Delay(100);
        } while (p.Stats.SamplesRead != before);
        // Bounded by the pool (prefetch + workers + 2 batches) and the queues (chunk queue + one chunk per worker).
        Assert.True(p.Stats.SamplesRead <= (options.Prefetch + 2 + 2) * 4 + (2 + 2 + 1) * 4, $"read {p.Stats.SamplesRead}");
        Assert.True(p.Pool.Outstanding <= p.Pool.Buffers);
        e.Current.Dispose();
    }
}
