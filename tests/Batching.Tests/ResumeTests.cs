using Contrastive.Augment;
using Contrastive.Ingest;
using SkiaSharp;

namespace Contrastive.Batching.Tests;

/// <summary>Each batch carries the cursor to resume from: exact in deterministic mode, never losing a sample in unordered mode.</summary>
public sealed class ResumeTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "ctr-resume-" + Guid.NewGuid().ToString("N"));
    private readonly IImageDataset _data;

    public ResumeTests()
    {
        // 3 classes × 23 images in chunks of 7; every 10th file is not an image (a bad sample, skipped and counted).
        for (int c = 0; c < 3; c++)
        {
            Directory.CreateDirectory(Path.Combine(_root, $"c{c}"));
            for (int i = 0; i < 23; i++)
            {
                var path = Path.Combine(_root, $"c{c}", $"{i:D2}.jpg");
                if ((c * 23 + i) % 10 == 3) { File.WriteAllBytes(path, [1, 2, 3]); continue; }
                using var bmp = new SKBitmap(12 + i % 5, 10 + c);
                using (var canvas = new SKCanvas(bmp)) canvas.Clear(new SKColor((byte)(i * 11), (byte)(c * 80), (byte)(i * 3)));
                using var img = SKImage.FromBitmap(bmp);
                using var data = img.Encode(SKEncodedImageFormat.Jpeg, 90);
                File.WriteAllBytes(path, data.ToArray());
            }
        }
        _data = ImageFolderDataset.Open(_root, _root, chunkSize: 7);
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private sealed record Seen(long[] Indices, byte[] Pixels, ReadCursor? Resume);

    private static ReadPlan Plan(int epoch) => new(epoch, 17, Shuffle: true, HoldoutSplit.None);

    private static async Task<List<Seen>> Take(IAsyncEnumerable<SampleChunk> source, int workers, bool deterministic, int max)
    {
        var options = new BatchingOptions { BatchSize = 5, Workers = workers, Deterministic = deterministic, BadSampleAllowance = 1000, Prefetch = 2, ChunkQueue = 2 };
        var settings = new PipelineSettings(new SimClrViewPolicy(new AugmentOptions { Size = 8 }), 3, DropLast: false);
        await using var p = InputPipeline.Start(source, options, settings);
        var seen = new List<Seen>();
        await foreach (var lease in p.ReadAllAsync())
        {
            using (lease)
            {
                var b = lease.Batch;
                var pixels = new List<byte>();
                for (int v = 0; v < b.Views; v++)
                    for (int i = 0; i < b.Count; i++) pixels.AddRange(b.ViewSlot(v, i).ToArray());
                seen.Add(new Seen(b.Indices[..b.Count], [.. pixels], b.Resume));
            }
            if (seen.Count == max) break;
        }
        return seen;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Deterministic_mode_resumes_the_exact_batches_across_epochs(int workers)
    {
        var full = await Take(_data.ReadEpochsAsync(Plan), workers, deterministic: true, max: 30); // 30 × 5 > two epochs of 62 good samples
        Assert.All(full, b => Assert.NotNull(b.Resume));
        foreach (int k in new[] { 0, 6, 11, 12, 20 })
        {
            var resumed = await Take(_data.ReadEpochsAsync(Plan, from: full[k].Resume), workers, deterministic: true, max: 30 - k - 1);
            Assert.Equal(full.Skip(k + 1).Select(b => b.Indices), resumed.Select(b => b.Indices));
            Assert.Equal(full.Skip(k + 1).Select(b => b.Pixels), resumed.Select(b => b.Pixels)); // same views: same seeds per sample
        }
    }

    [Fact]
    public async Task Unordered_mode_resumes_without_losing_a_sample()
    {
        var good = Enumerable.Range(0, 69).Where(i => i % 10 != 3).Select(i => (long)i).ToHashSet();
        var full = await Take(_data.ReadAsync(Plan(0)), 3, deterministic: false, max: int.MaxValue);
        Assert.Equal(good.Order(), full.SelectMany(b => b.Indices).Order()); // each good sample once
        Assert.All(full, b => Assert.NotNull(b.Resume));
        for (int k = 0; k < full.Count - 1; k += 3)
        {
            var before = full.Take(k + 1).SelectMany(b => b.Indices).ToList();
            var after = (await Take(_data.ReadAsync(Plan(0) with { From = full[k].Resume }), 3, deterministic: false, max: int.MaxValue))
                .SelectMany(b => b.Indices).ToList();
            Assert.Equal(good.Order(), before.Concat(after).Distinct().Order()); // nothing lost
            int again = before.Count + after.Count - good.Count;
            Assert.InRange(again, 0, 3 * 7 + 2 * 7); // seen twice: at most the chunks in flight (workers + queue) at that batch
        }
    }
}
