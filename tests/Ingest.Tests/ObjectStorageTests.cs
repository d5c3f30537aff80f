using System.Diagnostics;

namespace Contrastive.Ingest.Tests;

/// <summary>Parquet and tar shards read from a real S3-protocol server (s3rver) on loopback, including faults.</summary>
[Collection("s3")]
public class ObjectStorageTests(S3Server s3) : IClassFixture<S3Server>
{
    private static ImageRow[] Rows(int n, int offset) =>
        Enumerable.Range(offset, n).Select(i => new ImageRow(Enumerable.Range(0, 3000 + i % 500).Select(b => (byte)(b * 31 + i)).ToArray(), $"img/{i}.jpg", i % 7)).ToArray();

    private static async Task<List<(long Index, long Label, byte[] Bytes)>> ReadAll(IImageDataset ds)
    {
        var list = new List<(long, long, byte[])>();
        await foreach (var c in ds.ReadAsync(new ReadPlan(0, 0, false, HoldoutSplit.None)))
            using (c)
                for (int i = 0; i < c.Count; i++) list.Add((c.Indices[i], c.Labels[i], c.Images[i].ToArray()));
        return list;
    }

    [Fact]
    public async Task Parquet_shards_under_a_prefix_read_the_same_as_from_disk()
    {
        using var dir = new TempDir();
        await ParquetImageShardWriter.WriteAsync(dir.File("a.parquet"), Rows(230, 0), 50);
        await ParquetImageShardWriter.WriteAsync(dir.File("b.parquet"), Rows(120, 230), 50);
        await s3.PutAsync("data", "set1/a.parquet", dir.File("a.parquet"));
        await s3.PutAsync("data", "set1/b.parquet", dir.File("b.parquet"));
        await s3.PutAsync("data", "set1/readme.txt", dir.File("a.parquet")); // not a shard: ignored

        var remote = await ImageDataset.OpenAsync("s3://data/set1/");
        Assert.Equal("parquet", remote.Format);
        Assert.Equal(2, remote.ShardCount);
        Assert.Equal(350, remote.SampleCount);
        var local = await ReadAll(await ImageDataset.OpenAsync(dir.Path));
        var fromS3 = await ReadAll(remote);
        Assert.Equal(local.Count, fromS3.Count);
        for (int i = 0; i < local.Count; i++)
        {
            Assert.Equal(local[i].Index, fromS3[i].Index);
            Assert.Equal(local[i].Label, fromS3[i].Label);
            Assert.Equal(local[i].Bytes, fromS3[i].Bytes);
        }
    }

    [Fact]
    public async Task A_parquet_shard_is_opened_from_its_footer_and_read_without_fetching_bytes_it_does_not_need()
    {
        // 12 row groups of 100 incompressible 10 kB images: a 12 MB shard, its label and key column chunks between images.
        using var dir = new TempDir();
        var random = new Random(3);
        var rows = Enumerable.Range(0, 1200).Select(i =>
        {
            var bytes = new byte[10_000];
            random.NextBytes(bytes);
            return new ImageRow(bytes, $"img/{i}.jpg", i % 7);
        }).ToArray();
        await ParquetImageShardWriter.WriteAsync(dir.File("big.parquet"), rows, 100);
        long size = new FileInfo(dir.File("big.parquet")).Length;
        await s3.PutAsync("data", "footer/big.parquet", dir.File("big.parquet"));

        // Opening reads the shard's head (its magic) and the footer at its end: one small request each, not 4 MiB blocks.
        var before = ObjectStoreStats.Snapshot();
        var ds = await ImageDataset.OpenAsync("s3://data/footer/");
        var open = ObjectStoreStats.Snapshot().Since(before);
        Assert.Equal(1200, ds.SampleCount);
        Assert.True(open.BytesFetched <= 2 * S3ReadStream.FirstBlock, $"opening fetched {open.BytesFetched} bytes in {open.Requests} requests");
        Assert.True(open.Requests <= 3, $"opening made {open.Requests} requests (the listing, the head, the footer)");

        // A whole epoch fetches the shard about once: each row group's small columns are a small request of their own,
        // not the block of megabytes around them.
        before = ObjectStoreStats.Snapshot();
        var all = await ReadAll(ds);
        var epoch = ObjectStoreStats.Snapshot().Since(before);
        Assert.Equal(rows.Select(r => r.Bytes), all.Select(x => x.Bytes));
        Assert.True(epoch.BytesFetched <= size * 1.05, $"an epoch fetched {epoch.BytesFetched} bytes of a {size}-byte shard in {epoch.Requests} requests");
    }

    [Fact]
    public async Task Tar_shards_stream_from_object_storage()
    {
        using var dir = new TempDir();
        string tar = dir.File("s.tar");
        using (var file = File.Create(tar))
        using (var w = new System.Formats.Tar.TarWriter(file, System.Formats.Tar.TarEntryFormat.Pax))
            for (int i = 0; i < 40; i++)
            {
                w.WriteEntry(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, $"k{i:D3}.jpg") { DataStream = new MemoryStream(Rows(1, i)[0].Bytes) });
                w.WriteEntry(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, $"k{i:D3}.cls") { DataStream = new MemoryStream("3"u8.ToArray()) });
            }
        await s3.PutAsync("tars", "train/s.tar", tar);
        var ds = await ImageDataset.OpenAsync("s3://tars/train/s.tar");
        Assert.Equal("webdataset", ds.Format);
        var all = await ReadAll(ds);
        Assert.Equal(40, all.Count);
        Assert.All(all, s => Assert.Equal(3, s.Label));
        Assert.Equal(Rows(1, 7)[0].Bytes, all[7].Bytes);
    }

    [Fact]
    public async Task Missing_bucket_prefix_and_object_are_clear_errors_naming_the_uri()
    {
        var e1 = await Assert.ThrowsAsync<DataSourceException>(() => ImageDataset.OpenAsync("s3://no-such-bucket/x/"));
        Assert.Contains("s3://no-such-bucket/x/", e1.Message);
        await s3.PutAsync("empty", "other/readme.txt", typeof(ObjectStorageTests).Assembly.Location);
        var e2 = await Assert.ThrowsAsync<DataSourceException>(() => ImageDataset.OpenAsync("s3://empty/set/"));
        Assert.Contains("s3://empty/set/", e2.Message);
        var e3 = await Assert.ThrowsAsync<DataSourceException>(() => ImageDataset.OpenAsync("s3://empty/missing.tar"));
        Assert.Contains("s3://empty/missing.tar", e3.Message);
    }
}

/// <summary>Its own server, stopped in the middle of a read.</summary>
[Collection("s3")]
public class ObjectStorageFaultTests
{
    [Fact]
    public async Task A_server_that_dies_mid_read_gives_retries_then_a_clear_error_and_no_hang()
    {
        // Read one row group at a time, and read ahead (a budget of one row group): the same clear error either way.
        foreach (int readAheadMb in new[] { 0, 1 })
        {
            using var s3 = new S3Server();
            using var dir = new TempDir();
            // Incompressible images: row groups of 1 MB, so a budget of 1 MB reads one ahead.
            var rows = Enumerable.Range(0, 400).Select(i => { var b = new byte[20_000 + i]; new Random(i).NextBytes(b); return new ImageRow(b, $"k{i}", 0); }).ToArray();
            await ParquetImageShardWriter.WriteAsync(dir.File("big.parquet"), rows, 50);
            await s3.PutAsync("faults", "big.parquet", dir.File("big.parquet"));

            var options = new ObjectStoreOptions { MaxAttempts = 3, InitialBackoff = TimeSpan.FromMilliseconds(50), RequestTimeout = TimeSpan.FromSeconds(5), ReadAheadMb = readAheadMb };
            var ds = await ImageDataset.OpenAsync("s3://faults/big.parquet", null, null, null, default, options);
            int chunks = 0;
            var clock = Stopwatch.StartNew();
            var e = await Assert.ThrowsAsync<ShardFormatException>(async () =>
            {
                await foreach (var c in ds.ReadAsync(new ReadPlan(0, 0, false, HoldoutSplit.None)))
                {
                    c.Dispose();
                    if (++chunks == 2) s3.Stop(); // the server goes away after two row groups
                }
            });
            // Reading ahead, the row groups already fetched when the server went are read (one, or two in flight).
            if (readAheadMb == 0) Assert.Equal(2, chunks);
            else Assert.InRange(chunks, 2, 4);
            Assert.Contains("s3://faults/big.parquet", e.ToString());
            Assert.Contains("3 times", e.ToString()); // the retries happened, then it gave up
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(1), "no hang");
        }
    }

    [Fact]
    public async Task A_faulty_store_is_survived_for_two_epochs_with_every_sample_read_once_in_each()
    {
        using var s3 = new S3Server();
        using var dir = new TempDir();
        const int shards = 20, perShard = 40;
        for (int s = 0; s < shards; s++)
        {
            var rows = Enumerable.Range(0, perShard).Select(i =>
            {
                var bytes = new byte[6000 + i * 7];
                new Random(s * 1000 + i).NextBytes(bytes); // incompressible: the objects are as large as their images
                return new ImageRow(bytes, $"s{s}/k{i}", (s + i) % 5);
            }).ToArray();
            string file = dir.File($"shard-{s:D2}.parquet");
            await ParquetImageShardWriter.WriteAsync(file, rows, 10); // four row groups a shard
            await s3.PutAsync("flaky", $"train/shard-{s:D2}.parquet", file);
        }
        string? endpoint = Environment.GetEnvironmentVariable("AWS_ENDPOINT_URL_S3");
        await using var proxy = new FaultyStoreProxy(s3.Port, latency: TimeSpan.FromMilliseconds(2), stall: TimeSpan.FromSeconds(4));
        Environment.SetEnvironmentVariable("AWS_ENDPOINT_URL_S3", $"http://127.0.0.1:{proxy.Port}");
        try
        {
            // Small blocks and a short timeout: many requests, and a stalled one is given up on quickly.
            var options = new ObjectStoreOptions { MaxAttempts = 6, InitialBackoff = TimeSpan.FromMilliseconds(20), RequestTimeout = TimeSpan.FromSeconds(1.5), BlockSize = 16 << 10 };
            var before = ObjectStoreStats.Snapshot();
            var ds = await ImageDataset.OpenAsync("s3://flaky/train/", null, null, null, default, options);
            var clock = Stopwatch.StartNew();
            for (int epoch = 0; epoch < 2; epoch++)
            {
                var seen = new Dictionary<string, int>();
                await foreach (var c in ds.ReadAsync(new ReadPlan(epoch, 7, Shuffle: true, HoldoutSplit.None)))
                    using (c)
                        for (int i = 0; i < c.Count; i++)
                        {
                            string key = c.Keys![i]!;
                            Assert.Equal(6000 + int.Parse(key[(key.IndexOf('k') + 1)..]) * 7, c.Images[i].Length); // whole bytes, not a cut body
                            seen[key] = seen.GetValueOrDefault(key) + 1;
                        }
                Assert.Equal(shards * perShard, seen.Count);
                Assert.All(seen, kv => Assert.Equal(1, kv.Value));
            }
            var counts = ObjectStoreStats.Snapshot().Since(before);
            // Every kind of fault happened, and each was retried: nothing was lost or read twice.
            Assert.True(proxy.SlowDowns > 0 && proxy.Resets > 0 && proxy.Cuts > 0 && proxy.Stalls > 0,
                $"faults: {proxy.SlowDowns} SlowDown, {proxy.Resets} resets, {proxy.Cuts} cut bodies, {proxy.Stalls} stalls in {proxy.Requests} requests");
            // Each fault costs one more request: ours (a counted retry), or one the HTTP stack made again by itself (seen by the
            // proxy, not by our count).
            long uncounted = proxy.Requests - counts.Requests;
            Assert.InRange(uncounted, 0, proxy.Faults);
            Assert.True(counts.Retries + uncounted >= proxy.Faults, $"{counts.Retries} retries for {proxy.Faults} faults ({proxy.SlowDowns} SlowDown, {proxy.Resets} resets, {proxy.Cuts} cut bodies, {proxy.Stalls} stalls in {proxy.Requests} requests; {counts.Requests} requests counted)");
            Assert.True(counts.BytesFetched > 2L * shards * perShard * 6000, $"{counts.BytesFetched} bytes fetched");
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2), "no hang");
        }
        finally
        {
            Environment.SetEnvironmentVariable("AWS_ENDPOINT_URL_S3", endpoint);
        }
    }

    [Fact]
    public async Task A_store_that_keeps_failing_spends_the_retry_budget_and_says_so()
    {
        using var s3 = new S3Server();
        using var dir = new TempDir();
        var rows = Enumerable.Range(0, 50).Select(i => new ImageRow(new byte[5000 + i], $"k{i}", 0)).ToArray();
        await ParquetImageShardWriter.WriteAsync(dir.File("a.parquet"), rows, 10);
        await s3.PutAsync("budget", "a.parquet", dir.File("a.parquet"));
        var options = new ObjectStoreOptions { MaxAttempts = 100, InitialBackoff = TimeSpan.FromMilliseconds(1), RequestTimeout = TimeSpan.FromSeconds(2) };
        var ds = await ImageDataset.OpenAsync("s3://budget/a.parquet", null, null, null, default, options);
        s3.Stop(); // every request now fails: the budget, not MaxAttempts, ends it
        var spent = ObjectStoreStats.Snapshot().Retries;
        options.RetryBudget = (int)spent + 5;
        var e = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var c in ds.ReadAsync(new ReadPlan(0, 0, false, HoldoutSplit.None))) c.Dispose();
        });
        Assert.Contains($"(ObjectStore:RetryBudget {spent + 5})", e.ToString());
        Assert.Contains("s3://budget/a.parquet", e.ToString());
    }
}
