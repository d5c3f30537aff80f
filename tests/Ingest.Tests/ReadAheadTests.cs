namespace Contrastive.Ingest.Tests;

/// <summary>
/// Reading s3:// Parquet shards ahead without a shard cache (<see cref="RangeReadAhead"/>): the same samples in the same
/// order as from local disk, shuffled through mixing groups and resumed; one request a row group; the byte budget held.
/// </summary>
[Collection("s3")]
public class ReadAheadTests(S3Server s3) : IClassFixture<S3Server>
{
    private static ImageRow[] Rows(int n, int offset, int size) =>
        Enumerable.Range(offset, n).Select(i => new ImageRow(Enumerable.Range(0, size + i % 97).Select(b => (byte)(b * 13 + i)).ToArray(), $"img/{i}.jpg", i % 5)).ToArray();

    private sealed record Item(long Index, long Label, string Key, byte[] Bytes, ReadCursor Cursor);

    private static async Task<List<Item>> Sequence(IImageDataset ds, ReadPlan plan)
    {
        var list = new List<Item>();
        await foreach (var c in ds.ReadAsync(plan))
            using (c)
                for (int i = 0; i < c.Count; i++) list.Add(new Item(c.Indices[i], c.Labels[i], c.Keys![i]!, c.Images[i].ToArray(), c.CursorAt(i)));
        return list;
    }

    [Fact]
    public async Task Shards_read_ahead_give_local_disks_order_shuffled_and_resumed_in_one_request_a_row_group()
    {
        using var dir = new TempDir();
        for (int s = 0; s < 3; s++)
        {
            await ParquetImageShardWriter.WriteAsync(dir.File($"s{s}.parquet"), Rows(500, s * 500, 2000), 50); // 10 row groups a shard
            await s3.PutAsync("ahead", $"set/s{s}.parquet", dir.File($"s{s}.parquet"));
        }
        var local = await ImageDataset.OpenAsync(dir.Path);
        var on = await ParquetImageDataset.OpenAsync("s3://ahead/set/", null, null, null, default, new ObjectStoreOptions());
        var off = await ParquetImageDataset.OpenAsync("s3://ahead/set/", null, null, null, default, new ObjectStoreOptions { ReadAheadMb = 0 });
        // Mixing groups of three row groups from the shards in a shuffled order.
        var plan = new ReadPlan(1, 7, Shuffle: true, HoldoutSplit.None) { ShuffleBufferSamples = 150 };

        var expected = await Sequence(local, plan);
        Assert.Equal(1500, expected.Count);
        var before = ObjectStoreStats.Snapshot();
        var ahead = await Sequence(on, plan);
        var withAhead = ObjectStoreStats.Snapshot().Since(before);
        before = ObjectStoreStats.Snapshot();
        var plain = await Sequence(off, plan);
        var without = ObjectStoreStats.Snapshot().Since(before);
        foreach (var got in new[] { ahead, plain })
        {
            Assert.Equal(expected.Select(x => (x.Index, x.Label, x.Key)), got.Select(x => (x.Index, x.Label, x.Key)));
            Assert.Equal(expected.Select(x => x.Bytes), got.Select(x => x.Bytes));
        }
        // Read ahead: one request a row group (images, labels and keys in one range), the shards opened from the footers
        // kept at the dataset's open. Without: the image column and the small columns, and each shard's footer again.
        Assert.Equal(30, withAhead.Requests);
        Assert.True(without.Requests >= 60, $"{without.Requests} requests without reading ahead");

        // Resumed at a cursor inside a mixing group: the rest, exactly; the skipped row groups are not waited for.
        foreach (double where in new[] { 0.1, 0.55, 0.93 })
        {
            int at = (int)(expected.Count * where);
            var rest = await Sequence(on, plan with { From = expected[at].Cursor });
            Assert.Equal(expected.Skip(at).Select(x => x.Key), rest.Select(x => x.Key));
        }
    }

    [Fact]
    public async Task The_read_ahead_holds_its_byte_budget_drops_what_a_resume_skips_and_gives_the_exact_bytes()
    {
        using var dir = new TempDir();
        var bytes = new byte[5_000_000];
        new Random(11).NextBytes(bytes);
        File.WriteAllBytes(dir.File("blob"), bytes);
        await s3.PutAsync("ahead", "blob", dir.File("blob"));
        const int length = 400_000;
        var ranges = Enumerable.Range(0, 12).Select(i => (RangeReadAhead.Range?)(i == 4 ? null : new RangeReadAhead.Range("s3://ahead/blob", bytes.Length, i * length, length))).ToList();

        // A budget of 1 MB: two ranges of 400 kB held at once, never three.
        await using (var ahead = new RangeReadAhead(new ObjectStoreOptions { ReadAheadMb = 1, ReadAheadRequests = 8 }, ranges))
        {
            foreach (int i in new[] { 0, 1, 2, 3 })
            {
                using var lease = await ahead.TakeAsync("s3://ahead/blob", i * length, default);
                Assert.NotNull(lease);
                Assert.Equal(bytes.AsMemory(i * length, length).ToArray(), lease!.Bytes.ToArray());
                await Task.Delay(50); // the fetches ahead run into the budget meanwhile
            }
            Assert.True(ahead.PeakHeld <= 1 << 20, $"{ahead.PeakHeld} bytes held at once");
            Assert.True(ahead.PeakHeld >= 2 * length, "the read ahead never held two ranges");
            Assert.Null(await ahead.TakeAsync("s3://ahead/blob", 4 * length, default)); // not read ahead: the reader reads it
            // A resume skips 5 to 8: they are dropped, 9 comes.
            using (var lease = await ahead.TakeAsync("s3://ahead/blob", 9 * length, default))
                Assert.Equal(bytes.AsMemory(9 * length, length).ToArray(), lease!.Bytes.ToArray());
            Assert.Null(await ahead.TakeAsync("s3://ahead/blob", 6 * length, default)); // already passed
            using (var lease = await ahead.TakeAsync("s3://ahead/blob", 11 * length, default))
                Assert.Equal(bytes.AsMemory(11 * length, length).ToArray(), lease!.Bytes.ToArray());
            // The range taken after the skip starts at once, over the budget by at most the skipped ones still in flight.
            Assert.True(ahead.PeakHeld <= 3 * length, $"{ahead.PeakHeld} bytes held at once");
        }

        // A range whose fetch fails (the object is gone) is not given: the reader reads it itself and meets the error.
        var missing = new List<RangeReadAhead.Range?> { new("s3://ahead/gone", 1000, 0, 100) };
        await using (var ahead = new RangeReadAhead(new ObjectStoreOptions { MaxAttempts = 1 }, missing))
            Assert.Null(await ahead.TakeAsync("s3://ahead/gone", 0, default));
    }
}
