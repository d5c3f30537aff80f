using System.Buffers.Binary;
using System.Formats.Tar;
using System.Text;

namespace Contrastive.Ingest.Tests;

/// <summary>
/// Class-sorted data (an image folder's class folders, shards packed class by class) read with shuffling gives batches
/// of about as many classes as uniform sampling; the order is deterministic, resumable at any sample, split over ranks
/// without loss, and the shuffle buffer stays within its bounds.
/// </summary>
public class ShuffleBufferTests
{
    internal const int Classes = 20, PerClass = 32, Total = Classes * PerClass, Window = 64;

    internal sealed record Item(long Index, long Label, ReadCursor Cursor, int Bytes);

    internal static async Task<List<Item>> Order(IImageDataset ds, ReadPlan plan)
    {
        var list = new List<Item>();
        await foreach (var c in ds.ReadAsync(plan))
            using (c)
                for (int i = 0; i < c.Count; i++) list.Add(new Item(c.Indices[i], c.Labels[i], c.CursorAt(i), c.Images[i].Length));
        return list;
    }

    /// <summary>Sample i of class c: its bytes say which sample it is, and sizes vary.</summary>
    internal static byte[] Bytes(int i) => [.. Enumerable.Range(0, 200 + i % 7 * 50).Select(b => (byte)(b ^ i)), (byte)i, (byte)(i >> 8)];

    /// <summary>Parquet shards packed class by class: <paramref name="files"/> files, one row group per class.</summary>
    internal static async Task<ParquetImageDataset> SortedParquet(TempDir dir, int files = 2)
    {
        int perFile = Classes / files;
        for (int f = 0; f < files; f++)
        {
            var rows = new List<ImageRow>();
            for (int c = f * perFile; c < (f + 1) * perFile; c++)
                for (int k = 0; k < PerClass; k++)
                {
                    int i = c * PerClass + k;
                    rows.Add(new ImageRow(Bytes(i), $"c{c}/{k}.jpg", c));
                }
            await ParquetImageShardWriter.WriteAsync(dir.File($"part-{f}.parquet"), rows, rowsPerRowGroup: PerClass);
        }
        return await ParquetImageDataset.OpenAsync(dir.Path);
    }

    /// <summary>One tar shard per class.</summary>
    internal static async Task<WebDataset> SortedTar(TempDir dir, int chunkSize = 100)
    {
        for (int c = 0; c < Classes; c++)
        {
            using var file = File.Create(dir.File($"shard-{c:D3}.tar"));
            using var tar = new TarWriter(file, TarEntryFormat.Pax);
            for (int k = 0; k < PerClass; k++)
            {
                int i = c * PerClass + k;
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, $"c{c}-{k:D3}.jpg") { DataStream = new MemoryStream(Bytes(i)) });
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, $"c{c}-{k:D3}.cls") { DataStream = new MemoryStream(Encoding.ASCII.GetBytes(c.ToString())) });
            }
        }
        return await WebDataset.OpenAsync(dir.Path, chunkSize);
    }

    /// <summary>An image folder with a folder per class.</summary>
    internal static ImageFolderDataset SortedFolder(TempDir dir, int chunkSize = 100)
    {
        for (int c = 0; c < Classes; c++)
        {
            Directory.CreateDirectory(dir.File($"class{c:D2}"));
            for (int k = 0; k < PerClass; k++) File.WriteAllBytes(dir.File($"class{c:D2}/{k:D3}.jpg"), Bytes(c * PerClass + k));
        }
        return ImageFolderDataset.Open(dir.Path, dir.Path, chunkSize);
    }

    /// <summary>An IDX images file (and its labels) sorted by class.</summary>
    internal static IdxDataset SortedIdx(TempDir dir, int chunkSize)
    {
        const int side = 4;
        var images = new byte[16 + Total * side * side];
        BinaryPrimitives.WriteInt32BigEndian(images, 0x803);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(4), Total);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(8), side);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(12), side);
        for (int n = 0; n < Total; n++) images[16 + n * side * side] = (byte)n;
        var labels = new byte[8 + Total];
        BinaryPrimitives.WriteInt32BigEndian(labels, 0x801);
        BinaryPrimitives.WriteInt32BigEndian(labels.AsSpan(4), Total);
        for (int n = 0; n < Total; n++) labels[8 + n] = (byte)(n / PerClass);
        File.WriteAllBytes(dir.File("t-images-idx3-ubyte"), images);
        File.WriteAllBytes(dir.File("t-labels-idx1-ubyte"), labels);
        return IdxDataset.Open(dir.File("t-images-idx3-ubyte"), dir.File("t-images-idx3-ubyte"), chunkSize);
    }

    /// <summary>Mean distinct labels over consecutive windows of <see cref="Window"/> samples of each epoch's order.</summary>
    private static async Task<double> MeanDistinct(IImageDataset ds, Func<int, ReadPlan> plan, int epochs = 4)
    {
        var distinct = new List<int>();
        for (int e = 0; e < epochs; e++)
        {
            var order = await Order(ds, plan(e));
            Assert.Equal(Total, order.Count);
            for (int w = 0; w + Window <= order.Count; w += Window)
                distinct.Add(order.Skip(w).Take(Window).Select(x => x.Label).Distinct().Count());
        }
        return distinct.Average();
    }

    private static readonly double Uniform = BatchDiversity.ExpectedDistinct(Enumerable.Repeat((long)PerClass, Classes).ToArray(), Window);

    private static ReadPlan Shuffled(int epoch) => new(epoch, 7, Shuffle: true, HoldoutSplit.None);

    private static ReadPlan PerUnit(int epoch) => Shuffled(epoch) with { ShuffleBufferSamples = 0 };

    private static void AssertAboutUniform(double mean) =>
        Assert.InRange(mean, Uniform * 0.9, Uniform * 1.1); // Uniform ≈ 19.3 of 20 classes in 64 samples

    [Fact]
    public async Task Class_sorted_image_folder_gives_batches_of_about_as_many_classes_as_uniform_sampling()
    {
        using var dir = new TempDir();
        var ds = SortedFolder(dir);
        AssertAboutUniform(await MeanDistinct(ds, Shuffled));
        Assert.InRange(await MeanDistinct(ds, e => Shuffled(e) with { Shuffle = false }, 1), 1, 3); // stored order: two or three classes
    }

    [Fact]
    public async Task Class_sorted_idx_file_gives_batches_of_about_as_many_classes_as_uniform_sampling()
    {
        using var dir = new TempDir();
        AssertAboutUniform(await MeanDistinct(SortedIdx(dir, chunkSize: 100), Shuffled));
    }

    [Fact]
    public async Task Class_sorted_parquet_mixes_across_row_groups_and_the_per_unit_order_does_not()
    {
        using var dir = new TempDir();
        var ds = await SortedParquet(dir);
        AssertAboutUniform(await MeanDistinct(ds, Shuffled));
        double perUnit = await MeanDistinct(ds, PerUnit);
        Assert.InRange(perUnit, 1, 4); // two row groups of one class each per window, three when they straddle
        Assert.True(perUnit < Uniform / 4, $"{perUnit} vs {Uniform}");
    }

    [Fact]
    public async Task Class_sorted_tar_shards_mix_across_shards_and_the_per_unit_order_does_not()
    {
        using var dir = new TempDir();
        var ds = await SortedTar(dir);
        AssertAboutUniform(await MeanDistinct(ds, Shuffled));
        Assert.InRange(await MeanDistinct(ds, PerUnit), 1, 4);
        // Shards streamed side by side in pieces of 8 samples: each round holds 8 of every shard's samples.
        using var other = new TempDir();
        AssertAboutUniform(await MeanDistinct(await SortedTar(other, chunkSize: 8), Shuffled));
    }

    [Fact]
    public async Task The_same_seed_and_epoch_give_the_same_order_and_others_do_not()
    {
        using var pq = new TempDir();
        using var tar = new TempDir();
        using var folder = new TempDir();
        using var idx = new TempDir();
        IImageDataset[] sets = [await SortedParquet(pq), await SortedTar(tar, chunkSize: 10), SortedFolder(folder), SortedIdx(idx, 50)];
        foreach (var ds in sets)
        {
            var plan = Shuffled(3) with { ShuffleBufferSamples = 200 };
            var a = (await Order(ds, plan)).Select(x => x.Index).ToList();
            var b = (await Order(ds, plan)).Select(x => x.Index).ToList();
            Assert.Equal(a, b);
            Assert.Equal(Enumerable.Range(0, Total), a.Select(i => ds is WebDataset ? (int)(i >> 32) * PerClass + (int)(i & 0xFFFFFFFF) : (int)i).Order());
            Assert.NotEqual(a, (await Order(ds, plan with { Epoch = 4 })).Select(x => x.Index));
            Assert.NotEqual(a, (await Order(ds, plan with { Seed = 8 })).Select(x => x.Index));
        }
    }

    /// <summary>Resuming from the cursor of every <paramref name="step"/>-th sample yields exactly the samples that follow.</summary>
    private static async Task AssertResumes(IImageDataset ds, ReadPlan plan, int step)
    {
        var all = await Order(ds, plan);
        Assert.NotEmpty(all);
        Assert.Equal(all.Count, all.Select(x => x.Cursor).Distinct().Count());
        for (int at = 0; at < all.Count; at += step)
        {
            var rest = await Order(ds, plan with { From = all[at].Cursor });
            Assert.Equal(all.Skip(at).Select(x => x.Index), rest.Select(x => x.Index));
            Assert.Equal(all.Skip(at).Select(x => x.Cursor), rest.Select(x => x.Cursor));
        }
        var last = all[^1].Cursor;
        Assert.Empty(await Order(ds, plan with { From = last with { Offset = last.Offset + 1 } }));
    }

    [Fact]
    public async Task Resuming_through_the_buffer_yields_exactly_the_remaining_samples()
    {
        using var pq = new TempDir();
        var parquet = await SortedParquet(pq);
        var plan = Shuffled(1) with { ShuffleBufferSamples = 100 }; // groups of three row groups
        Assert.True(ShuffleBuffer.Describe(parquet, plan).Groups > 1);
        await AssertResumes(parquet, plan, 5);
        await AssertResumes(parquet, plan with { Split = new HoldoutSplit(0.2) }, 7);
        await AssertResumes(parquet, plan with { Split = new HoldoutSplit(0.2), HeldOut = true }, 3);
        await AssertResumes(parquet, plan with { Rank = 1, WorldSize = 3 }, 4);

        using var tar = new TempDir();
        var shards = await SortedTar(tar, chunkSize: 10);
        var tarPlan = Shuffled(2) with { ShuffleBufferSamples = 30 }; // three shards side by side, four rounds each
        var layout = ShuffleBuffer.Describe(shards, tarPlan);
        Assert.Equal(3, layout.MaxUnits);
        await AssertResumes(shards, tarPlan, 6);
        await AssertResumes(shards, tarPlan with { Rank = 0, WorldSize = 2, Split = new HoldoutSplit(0.3) }, 5);

        using var folder = new TempDir();
        var images = SortedFolder(folder);
        await AssertResumes(images, Shuffled(5), 9);
        await AssertResumes(images, Shuffled(5) with { Rank = 2, WorldSize = 3, Split = new HoldoutSplit(0.1) }, 4);

        using var idx = new TempDir();
        await AssertResumes(SortedIdx(idx, 30), Shuffled(0) with { Split = new HoldoutSplit(0.25) }, 11);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    public async Task Ranks_read_every_sample_once_per_epoch_through_the_buffer(int world)
    {
        using var pq = new TempDir();
        using var tar = new TempDir();
        using var folder = new TempDir();
        IImageDataset[] sets = [await SortedParquet(pq), await SortedTar(tar, chunkSize: 10), SortedFolder(folder)];
        foreach (var ds in sets)
            foreach (int epoch in new[] { 0, 1 })
            {
                var seen = new List<long>();
                for (int rank = 0; rank < world; rank++)
                    seen.AddRange((await Order(ds, Shuffled(epoch) with { Rank = rank, WorldSize = world, ShuffleBufferSamples = 100 })).Select(x => x.Index));
                Assert.Equal(Total, seen.Count);
                Assert.Equal(Total, seen.Distinct().Count());
            }
    }

    [Fact]
    public async Task Mixing_groups_stay_within_the_byte_bound()
    {
        using var dir = new TempDir();
        var ds = await SortedParquet(dir);
        long rowGroup = ds.Shards.SelectMany(s => s.RowGroupBytes).Max();
        long bound = rowGroup * 4 + rowGroup / 2; // four row groups fit, five do not
        var plan = Shuffled(0) with { ShuffleBufferBytes = bound };
        var layout = ShuffleBuffer.Describe(ds, plan);
        Assert.InRange(layout.MaxBytes, 1, bound);
        Assert.Equal(4, layout.MaxUnits);
        Assert.Equal(5, layout.Groups); // 20 row groups
        Assert.StartsWith("shuffle buffer: up to 128 samples / ", layout.Text);
        Assert.Contains("across up to 4 row groups", layout.Text);

        // Measured: the image bytes of each group's samples as read.
        var order = await Order(ds, plan);
        var perGroup = order.GroupBy(x => x.Cursor.Unit).Select(g => g.Sum(x => (long)x.Bytes)).ToList();
        Assert.Equal(5, perGroup.Count);
        Assert.All(perGroup, b => Assert.InRange(b, 1, bound));

        // The sample bound binds alike; 0 or 1 turns the buffer off.
        Assert.Equal(2, ShuffleBuffer.Describe(ds, Shuffled(0) with { ShuffleBufferSamples = 64 }).MaxUnits);
        Assert.Equal(0, ShuffleBuffer.Describe(ds, Shuffled(0) with { ShuffleBufferSamples = 1 }).Groups);
        Assert.Contains("off", ShuffleBuffer.Describe(ds, Shuffled(0) with { ShuffleBufferBytes = 0 }).Text);
    }

    [Fact]
    public async Task Tar_rounds_stay_within_the_byte_bound()
    {
        using var dir = new TempDir();
        var ds = await SortedTar(dir, chunkSize: 10);
        // 30 samples (three shards side by side) and 3,000 bytes: each shard gives pieces of at most 1,000 bytes.
        var plan = Shuffled(0) with { ShuffleBufferSamples = 30, ShuffleBufferBytes = 3000 };
        Assert.Equal(1000, ds.PieceBytes(plan));
        var layout = ShuffleBuffer.Describe(ds, plan);
        Assert.Equal(3, layout.MaxUnits);
        Assert.InRange(layout.MaxBytes, 1, 3000);
        Assert.Equal(Total, (await Order(ds, plan)).Count);

        // Measured: the pieces the reader gives (a round holds one piece of each of the group's shards).
        int samples = 0;
        await using (var file = File.OpenRead(dir.File("shard-003.tar")))
            await foreach (var (piece, owner) in new TarShardReader().ReadAsync(file, "shard-003.tar", 10, default, groupBytes: 1000))
                using (owner)
                {
                    long bytes = piece.Sum(x => (long)x.Image.Length);
                    Assert.InRange(piece.Count, 1, 10);
                    Assert.InRange(bytes, 1, 1000);
                    samples += piece.Count;
                }
        Assert.Equal(PerClass, samples);
    }

    [Fact]
    public void Shared_owners_return_each_piece_when_its_last_chunk_is_done()
    {
        var disposed = new bool[3];
        var owners = new SharedOwners([new Flag(disposed, 0), new Flag(disposed, 1), new Flag(disposed, 2)]);
        var a = owners.Lease([true, true, false]);
        var b = owners.Lease([false, true, false]);
        owners.ReleaseBuilder();
        Assert.Equal(new[] { false, false, true }, disposed); // piece 2: no chunk uses it
        a.Dispose();
        a.Dispose(); // twice: once
        Assert.Equal(new[] { true, false, true }, disposed);
        b.Dispose();
        Assert.Equal(new[] { true, true, true }, disposed);
    }

    private sealed class Flag(bool[] flags, int i) : IDisposable
    {
        public void Dispose()
        {
            Assert.False(flags[i], "disposed twice");
            flags[i] = true;
        }
    }
}

/// <summary>Reads that watch the process-wide buffer pool: not run beside other tests.</summary>
[CollectionDefinition("pool", DisableParallelization = true)]
public sealed class PoolCollection;

[Collection("pool")]
public class ShuffleBufferPoolTests
{
    [Fact]
    public async Task Pooled_buffers_stay_within_the_bound_and_return_when_the_last_chunk_sharing_them_is_disposed()
    {
        using var dir = new TempDir();
        var ds = await ShuffleBufferTests.SortedParquet(dir);
        long bound = ds.Shards.SelectMany(s => s.RowGroupBytes).Max() * 4 + 100;
        var plan = new ReadPlan(0, 7, Shuffle: true, HoldoutSplit.None) { ShuffleBufferBytes = bound };
        long before = ChunkBufferPool.OutstandingBytes, peak = 0;
        await foreach (var c in ds.ReadAsync(plan))
        {
            peak = Math.Max(peak, ChunkBufferPool.OutstandingBytes - before);
            c.Dispose(); // a consumer that is done with each chunk at once: what stays out is the buffer's
        }
        // Each row group's page is one pooled array of a power-of-two size class: at most twice its bytes.
        Assert.InRange(peak, 1, 2 * bound);
        Assert.Equal(before, ChunkBufferPool.OutstandingBytes);

        var held = new List<SampleChunk>();
        await foreach (var c in ds.ReadAsync(plan)) held.Add(c);
        for (int i = 0; i < held.Count - 1; i++) held[i].Dispose();
        Assert.True(ChunkBufferPool.OutstandingBytes > before, "the last chunk still holds the row groups of its samples");
        held[^1].Dispose();
        Assert.Equal(before, ChunkBufferPool.OutstandingBytes);
    }
}
