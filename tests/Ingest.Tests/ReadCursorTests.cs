using System.Formats.Tar;

namespace Contrastive.Ingest.Tests;

/// <summary>A cursor taken at any sample resumes exactly the remaining sequence, for every format, without reading what came before.</summary>
public class ReadCursorTests
{
    private static ImageRow[] Rows(int n, int offset = 0) =>
        Enumerable.Range(offset, n).Select(i => new ImageRow([(byte)i, (byte)(i >> 8), 7], $"img/{i}.jpg", i % 5)).ToArray();

    /// <summary>Every sample of the plan in order, each with the cursor that resumes at it.</summary>
    private static async Task<List<(long Index, ReadCursor Cursor)>> Sequence(IImageDataset ds, ReadPlan plan)
    {
        var list = new List<(long, ReadCursor)>();
        await foreach (var c in ds.ReadAsync(plan))
            using (c)
                for (int i = 0; i < c.Count; i++) list.Add((c.Indices[i], c.CursorAt(i)));
        return list;
    }

    private static async Task AssertResumesAnywhere(IImageDataset ds, ReadPlan plan, int expectedSamples)
    {
        var all = await Sequence(ds, plan);
        Assert.Equal(expectedSamples, all.Count);
        Assert.Equal(all.Count, all.Select(x => x.Cursor).Distinct().Count()); // a cursor names one sample
        foreach (int at in new[] { 0, 1, all.Count / 3, all.Count / 2 + 1, all.Count - 1 })
        {
            var rest = await Sequence(ds, plan with { From = all[at].Cursor });
            Assert.Equal(all.Skip(at).Select(x => x.Index), rest.Select(x => x.Index));
            Assert.Equal(all.Skip(at).Select(x => x.Cursor), rest.Select(x => x.Cursor)); // cursors taken after a resume are the same
        }
        // The cursor just past the last sample yields nothing; one of another epoch changes nothing.
        var last = all[^1].Cursor;
        Assert.Empty(await Sequence(ds, plan with { From = last with { Offset = last.Offset + 1 } }));
        Assert.Equal(all.Select(x => x.Index), (await Sequence(ds, plan with { From = new ReadCursor(plan.Epoch + 1, 3, 1) })).Select(x => x.Index));
    }

    [Fact]
    public async Task Parquet_resumes_the_exact_remaining_sequence_with_shuffle_split_and_ranks()
    {
        using var dir = new TempDir();
        await ParquetImageShardWriter.WriteAsync(dir.File("a.parquet"), Rows(230), rowsPerRowGroup: 40);
        await ParquetImageShardWriter.WriteAsync(dir.File("b.parquet"), Rows(90, 230), rowsPerRowGroup: 40);
        var ds = await ParquetImageDataset.OpenAsync(dir.Path);
        await AssertResumesAnywhere(ds, new ReadPlan(2, 11, Shuffle: true, HoldoutSplit.None), 320);
        var split = new HoldoutSplit(0.25);
        int kept = Enumerable.Range(0, 320).Count(i => !split.IsHeldOut(i));
        await AssertResumesAnywhere(ds, new ReadPlan(0, 5, Shuffle: true, split), kept);
        var rank1 = new ReadPlan(1, 5, Shuffle: true, HoldoutSplit.None, Rank: 1, WorldSize: 3);
        await AssertResumesAnywhere(ds, rank1, (await Sequence(ds, rank1)).Count);
    }

    /// <summary>
    /// Old ranks read part of an epoch (each stopping at its own sample), then the rest is read by another number of ranks
    /// (and, for the new ranks, stopped and resumed again with as many): every sample of the epoch exactly once.
    /// </summary>
    private static async Task AssertReshardReadsTheRestOnce(IImageDataset ds, ReadPlan plan, int oldWorld, int newWorld, int total)
    {
        var seen = new List<long>();
        var cursors = new ReadCursor?[oldWorld];
        for (int r = 0; r < oldWorld; r++)
        {
            var mine = await Sequence(ds, plan with { Rank = r, WorldSize = oldWorld });
            int stop = mine.Count * (r + 1) / (oldWorld + 2); // each old rank stopped somewhere else (and rank 0 early)
            seen.AddRange(mine.Take(stop).Select(x => x.Index));
            cursors[r] = stop < mine.Count ? mine[stop].Cursor : mine[^1].Cursor with { Offset = mine[^1].Cursor.Offset + 1 };
        }
        var reshard = new ReadReshard(oldWorld, cursors);
        for (int k = 0; k < newWorld; k++)
        {
            var share = plan with { Rank = k, WorldSize = newWorld, Reshard = reshard };
            var rest = await Sequence(ds, share);
            // New rank k stops halfway and resumes with its own cursor (as many processes): the same remainder.
            if (rest.Count > 1)
            {
                int half = rest.Count / 2;
                var again = await Sequence(ds, share with { From = rest[half].Cursor });
                Assert.Equal(rest.Skip(half).Select(x => x.Index), again.Select(x => x.Index));
            }
            seen.AddRange(rest.Select(x => x.Index));
        }
        Assert.Equal(total, seen.Count);
        Assert.Equal(total, seen.Distinct().Count());
        // The next epoch is not resharded: ranks read their own shares.
        Assert.False((plan with { Epoch = plan.Epoch + 1, Reshard = reshard }).Reshard!.Applies(plan.Epoch + 1));
    }

    [Fact]
    public async Task An_epoch_left_by_two_ranks_is_finished_by_one_or_by_three_with_every_sample_once()
    {
        using var dir = new TempDir();
        for (int s = 0; s < 4; s++) await ParquetImageShardWriter.WriteAsync(dir.File($"s{s}.parquet"), Rows(150, 150 * s), rowsPerRowGroup: 20);
        var ds = await ParquetImageDataset.OpenAsync(dir.Path);
        // Through the shuffle buffer (groups of row groups), and one row group at a time.
        var mixed = new ReadPlan(3, 9, Shuffle: true, HoldoutSplit.None) { ShuffleBufferSamples = 100, ShuffleBufferBytes = 1 << 20 };
        var single = mixed with { ShuffleBufferSamples = 0 };
        foreach (var plan in new[] { mixed, single })
        {
            await AssertReshardReadsTheRestOnce(ds, plan, 2, 1, 600);
            await AssertReshardReadsTheRestOnce(ds, plan, 1, 2, 600);
            await AssertReshardReadsTheRestOnce(ds, plan, 2, 3, 600);
        }
        // Tar shards, streamed in pieces.
        for (int s = 0; s < 5; s++)
        {
            using var file = File.Create(dir.File($"t{s}.tar"));
            using var w = new TarWriter(file, TarEntryFormat.Pax);
            for (int i = 0; i < 30; i++)
            {
                w.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, $"s{s}k{i:D2}.jpg") { DataStream = new MemoryStream([(byte)i, 1, 2]) });
                w.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, $"s{s}k{i:D2}.cls") { DataStream = new MemoryStream("1"u8.ToArray()) });
            }
        }
        var tars = await WebDataset.OpenAsync(dir.File("t*.tar"), chunkSize: 7);
        await AssertReshardReadsTheRestOnce(tars, new ReadPlan(1, 4, Shuffle: true, HoldoutSplit.None) { ShuffleBufferSamples = 21, ShuffleBufferBytes = 1 << 20 }, 2, 1, 150);
        await AssertReshardReadsTheRestOnce(tars, new ReadPlan(1, 4, Shuffle: true, HoldoutSplit.None) { ShuffleBufferSamples = 21, ShuffleBufferBytes = 1 << 20 }, 1, 2, 150);
    }

    [Fact]
    public async Task Parquet_does_not_open_shards_before_the_cursor()
    {
        using var dir = new TempDir();
        await ParquetImageShardWriter.WriteAsync(dir.File("a.parquet"), Rows(100), rowsPerRowGroup: 50);
        await ParquetImageShardWriter.WriteAsync(dir.File("b.parquet"), Rows(100, 100), rowsPerRowGroup: 50);
        var ds = await ParquetImageDataset.OpenAsync(dir.Path);
        var plan = new ReadPlan(0, 0, Shuffle: false, HoldoutSplit.None);
        var all = await Sequence(ds, plan);
        var cursor = all[130].Cursor; // inside b.parquet's first row group
        Assert.Equal(new ReadCursor(0, 2, 30), cursor);
        File.Delete(dir.File("a.parquet")); // consumed: reading from the cursor must not touch it
        var rest = await Sequence(ds, plan with { From = cursor });
        Assert.Equal(Enumerable.Range(130, 70).Select(i => (long)i), rest.Select(x => x.Index));
    }

    [Fact]
    public async Task WebDataset_resumes_inside_a_shard_and_skips_consumed_shards()
    {
        using var dir = new TempDir();
        for (int s = 0; s < 3; s++)
        {
            using var file = File.Create(dir.File($"shard-{s}.tar"));
            using var tar = new TarWriter(file, TarEntryFormat.Pax);
            for (int i = 0; i < 25; i++)
            {
                var e = new PaxTarEntry(TarEntryType.RegularFile, $"s{s}-{i:D3}.jpg") { DataStream = new MemoryStream([(byte)i, (byte)s, 1]) };
                tar.WriteEntry(e);
            }
        }
        var ds = await WebDataset.OpenAsync(dir.Path, chunkSize: 10);
        await AssertResumesAnywhere(ds, new ReadPlan(0, 3, Shuffle: true, HoldoutSplit.None), 75);

        var plan = new ReadPlan(0, 3, Shuffle: false, HoldoutSplit.None);
        var all = await Sequence(ds, plan);
        var cursor = all[37].Cursor; // shard 1, 12 samples in (its second chunk)
        Assert.Equal(new ReadCursor(0, 1, 12), cursor);
        File.Delete(dir.File("shard-0.tar"));
        Assert.Equal(all.Skip(37).Select(x => x.Index), (await Sequence(ds, plan with { From = cursor })).Select(x => x.Index));
    }

    [Fact]
    public async Task Image_folder_resumes_the_exact_remaining_sequence()
    {
        using var dir = new TempDir();
        for (int c = 0; c < 3; c++)
        {
            Directory.CreateDirectory(dir.File($"class{c}"));
            for (int i = 0; i < 17; i++) File.WriteAllBytes(dir.File($"class{c}/{i:D2}.png"), [(byte)c, (byte)i]); // bytes are not decoded here
        }
        var ds = ImageFolderDataset.Open(dir.Path, dir.Path, chunkSize: 8);
        await AssertResumesAnywhere(ds, new ReadPlan(4, 2, Shuffle: true, HoldoutSplit.None), 51);
    }

    [Fact]
    public async Task Epochs_resume_at_the_cursor_then_continue_with_whole_epochs()
    {
        using var dir = new TempDir();
        await ParquetImageShardWriter.WriteAsync(dir.File("a.parquet"), Rows(60), rowsPerRowGroup: 20);
        var ds = await ParquetImageDataset.OpenAsync(dir.Path);
        ReadPlan Plan(int e) => new(e, 9, Shuffle: true, HoldoutSplit.None);
        var epoch3 = await Sequence(ds, Plan(3));
        var epoch4 = await Sequence(ds, Plan(4));
        var started = new List<int>();
        var resumed = new List<long>();
        await foreach (var c in ds.ReadEpochsAsync(Plan, epochStarted: started.Add, from: epoch3[45].Cursor))
        {
            using (c) resumed.AddRange(c.Indices);
            if (resumed.Count >= 15 + 60) break;
        }
        Assert.Equal(epoch3.Skip(45).Concat(epoch4).Select(x => x.Index), resumed);
        Assert.Equal([3, 4], started);

        // A cursor at the very end of an epoch is not an empty epoch: reading goes on with the next.
        var end = epoch3[^1].Cursor;
        await foreach (var c in ds.ReadEpochsAsync(Plan, from: end with { Offset = end.Offset + 1 }))
        {
            using (c) Assert.Equal(4, c.Epoch);
            break;
        }
    }
}
