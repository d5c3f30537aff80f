namespace Contrastive.Ingest.Tests;

/// <summary>The local shard cache in front of a real S3-protocol server (s3rver on loopback).</summary>
[Collection("s3")]
public class ShardCacheTests(S3Server s3) : IClassFixture<S3Server>
{
    private const int Shards = 20, PerShard = 40;

    /// <summary>Twenty Parquet shards of four row groups under s3://BUCKET/train/; returns the corpus's bytes.</summary>
    private async Task<long> PutParquetAsync(TempDir dir, string bucket)
    {
        long total = 0;
        for (int s = 0; s < Shards; s++)
        {
            var rows = Enumerable.Range(0, PerShard).Select(i =>
            {
                var bytes = new byte[3000 + i * 5];
                new Random(s * 1000 + i).NextBytes(bytes);
                return new ImageRow(bytes, $"s{s}/k{i}", (s + i) % 5);
            }).ToArray();
            string file = dir.File($"shard-{s:D2}.parquet");
            await ParquetImageShardWriter.WriteAsync(file, rows, 10);
            await s3.PutAsync(bucket, $"train/shard-{s:D2}.parquet", file);
            total += new FileInfo(file).Length;
        }
        return total;
    }

    private static byte[] Expected(string key)
    {
        int s = int.Parse(key[1..key.IndexOf('/')]), i = int.Parse(key[(key.IndexOf('k') + 1)..]);
        var bytes = new byte[3000 + i * 5];
        new Random(s * 1000 + i).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Reads one shuffled epoch; asserts every key once, with its bytes; returns what object storage and the cache did meanwhile.</summary>
    private static async Task<ObjectStoreCounters> EpochAsync(IImageDataset ds, int epoch, int expected = Shards * PerShard)
    {
        var before = ObjectStoreStats.Snapshot();
        var seen = new Dictionary<string, int>();
        await foreach (var c in ds.ReadAsync(new ReadPlan(epoch, 11, Shuffle: true, HoldoutSplit.None)))
            using (c)
                for (int i = 0; i < c.Count; i++)
                {
                    string key = c.Keys![i]!;
                    Assert.True(c.Images[i].Span.SequenceEqual(Expected(key)), $"{key}: other bytes than written");
                    seen[key] = seen.GetValueOrDefault(key) + 1;
                }
        Assert.Equal(expected, seen.Count);
        Assert.All(seen, kv => Assert.Equal(1, kv.Value));
        return ObjectStoreStats.Snapshot().Since(before);
    }

    private static ObjectStoreOptions Cached(string folder, long budget) =>
        new ObjectStoreOptions { InitialBackoff = TimeSpan.FromMilliseconds(20) }.WithCache(new ShardCacheOptions { Directory = folder, BudgetBytes = budget, AheadBytes = budget, Requests = 3 });

    private static long OnDisk(string folder) =>
        Directory.Exists(Path.Combine(folder, "objects")) ? new DirectoryInfo(Path.Combine(folder, "objects")).EnumerateFiles().Sum(f => { try { return f.Length; } catch (FileNotFoundException) { return 0; } }) : 0;

    [Fact]
    public async Task An_object_is_copied_in_one_request_and_a_failing_writer_is_not_the_stores_fault()
    {
        using var dir = new TempDir();
        var bytes = new byte[300_000];
        new Random(7).NextBytes(bytes);
        string file = dir.File("blob.bin");
        await File.WriteAllBytesAsync(file, bytes);
        await s3.PutAsync("copies", "blob.bin", file);
        var store = new ObjectStoreOptions { InitialBackoff = TimeSpan.FromMilliseconds(20) };
        using var stream = await S3ReadStream.OpenAsync("s3://copies/blob.bin", bytes.Length, store, default);

        // The whole object in 64 KiB pieces, through one GET.
        var before = ObjectStoreStats.Snapshot();
        using var copy = new MemoryStream();
        await stream.CopyRangeAsync(0, bytes.Length, (piece, ct) => copy.WriteAsync(piece, ct), default);
        Assert.Equal(bytes, copy.ToArray());
        Assert.Equal(1, ObjectStoreStats.Snapshot().Since(before).Requests);

        // A writer that fails (a full disk) ends the copy with its own error at once: no retry, no second request.
        before = ObjectStoreStats.Snapshot();
        int calls = 0;
        var e = await Assert.ThrowsAsync<IOException>(() => stream.CopyRangeAsync(0, bytes.Length, (_, _) =>
        {
            calls++;
            throw new IOException("No space left on device");
        }, default));
        Assert.Equal("No space left on device", e.Message);
        Assert.Equal(1, calls);
        var after = ObjectStoreStats.Snapshot().Since(before);
        Assert.Equal(1, after.Requests);
        Assert.Equal(0, after.Retries);
    }

    [Fact]
    public async Task With_room_for_the_corpus_the_second_epoch_and_a_new_reader_fetch_nothing()
    {
        using var dir = new TempDir();
        long corpus = await PutParquetAsync(dir, "cached");
        string folder = dir.File("cache");
        var ds = await ImageDataset.OpenAsync("s3://cached/train/", null, null, null, default, Cached(folder, 64L << 20));

        var first = await EpochAsync(ds, 0);
        Assert.Equal(Shards, first.CacheMisses);
        Assert.Equal(0, first.CacheHits);
        Assert.InRange(first.BytesFetched, corpus, corpus + corpus / 10); // each object once, whole (and nothing more than a few footers)
        Assert.Equal(Shards, Directory.GetFiles(Path.Combine(folder, "objects"), "*.shard").Length);
        Assert.Empty(Directory.GetFiles(Path.Combine(folder, "objects"), "*.tmp"));
        Assert.Equal(corpus + Shards * 24L, OnDisk(folder));

        var second = await EpochAsync(ds, 1);
        Assert.Equal(0, second.BytesFetched);
        Assert.Equal(0, second.Requests);
        Assert.Equal(Shards, second.CacheHits);
        Assert.Equal(0, second.CacheMisses);

        // A reader opened afresh (as after a restart) finds the entries on disk.
        var again = await ImageDataset.OpenAsync("s3://cached/train/", null, null, null, default, Cached(folder, 64L << 20));
        var third = await EpochAsync(again, 2);
        Assert.Equal(0, third.BytesFetched);
        Assert.Equal(Shards, third.CacheHits);
    }

    [Fact]
    public async Task A_quarter_of_the_corpus_never_overflows_and_every_unit_is_still_read_once()
    {
        using var dir = new TempDir();
        long corpus = await PutParquetAsync(dir, "quarter");
        string folder = dir.File("cache");
        long budget = corpus / 4;
        var ds = await ImageDataset.OpenAsync("s3://quarter/train/", null, null, null, default, Cached(folder, budget));
        long most = 0;
        using var stop = new CancellationTokenSource();
        var watch = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                most = Math.Max(most, OnDisk(folder));
                await Task.Delay(1);
            }
        });
        var counts = new List<ObjectStoreCounters>();
        for (int epoch = 0; epoch < 2; epoch++) counts.Add(await EpochAsync(ds, epoch));
        stop.Cancel();
        await watch;
        Assert.InRange(most, 1, budget);
        Assert.InRange(OnDisk(folder), 1, budget);
        Assert.All(counts, c => Assert.Equal(Shards, c.CacheHits + c.CacheMisses));
        Assert.True(counts.Sum(c => c.CacheEvicted) > 0, "entries were deleted to make room");
        Assert.Empty(Directory.GetFiles(Path.Combine(folder, "objects"), "*.tmp"));
    }

    [Fact]
    public async Task A_damaged_or_cut_entry_is_fetched_again()
    {
        using var dir = new TempDir();
        await PutParquetAsync(dir, "damaged");
        string folder = dir.File("cache");
        var ds = await ImageDataset.OpenAsync("s3://damaged/train/", null, null, null, default, Cached(folder, 64L << 20));
        await EpochAsync(ds, 0);
        var entries = Directory.GetFiles(Path.Combine(folder, "objects"), "*.shard").Order().ToArray();
        // One entry with a byte changed in the middle (same length), one cut short.
        using (var f = new FileStream(entries[3], FileMode.Open, FileAccess.ReadWrite))
        {
            f.Position = f.Length / 2;
            int b = f.ReadByte();
            f.Position = f.Length / 2;
            f.WriteByte((byte)(b ^ 0xFF));
        }
        using (var f = new FileStream(entries[7], FileMode.Open, FileAccess.ReadWrite)) f.SetLength(f.Length - 100);
        long refetch = new FileInfo(entries[3]).Length + new FileInfo(entries[7]).Length + 100 - 2 * 24;

        var second = await EpochAsync(ds, 1);
        Assert.Equal(2, second.CacheDamaged);
        Assert.Equal(2, second.CacheMisses);
        Assert.Equal(Shards - 2, second.CacheHits);
        Assert.Equal(refetch, second.BytesFetched);
        var third = await EpochAsync(ds, 2);
        Assert.Equal(0, third.BytesFetched);
        Assert.Equal(0, third.CacheDamaged);
    }

    [Fact]
    public async Task Tar_shards_go_through_the_cache_too()
    {
        using var dir = new TempDir();
        for (int s = 0; s < 6; s++)
        {
            string tar = dir.File($"s{s}.tar");
            using (var file = File.Create(tar))
            using (var w = new System.Formats.Tar.TarWriter(file, System.Formats.Tar.TarEntryFormat.Pax))
                for (int i = 0; i < PerShard; i++)
                {
                    w.WriteEntry(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, $"s{s}_k{i}.jpg") { DataStream = new MemoryStream(Expected($"s{s}/k{i}")) });
                    w.WriteEntry(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, $"s{s}_k{i}.cls") { DataStream = new MemoryStream("2"u8.ToArray()) });
                }
            await s3.PutAsync("tarcache", $"train/s{s}.tar", tar);
        }
        string folder = dir.File("cache");
        var ds = await ImageDataset.OpenAsync("s3://tarcache/train/", null, null, null, default, Cached(folder, 64L << 20));
        async Task<ObjectStoreCounters> Epoch(int epoch)
        {
            var before = ObjectStoreStats.Snapshot();
            var seen = new HashSet<string>();
            await foreach (var c in ds.ReadAsync(new ReadPlan(epoch, 3, Shuffle: true, HoldoutSplit.None)))
                using (c)
                    for (int i = 0; i < c.Count; i++)
                    {
                        string key = c.Keys![i]!;
                        Assert.True(seen.Add(key), $"{key} twice");
                        Assert.True(c.Images[i].Span.SequenceEqual(Expected(key.Replace('_', '/'))), key);
                    }
            Assert.Equal(6 * PerShard, seen.Count);
            return ObjectStoreStats.Snapshot().Since(before);
        }
        Assert.Equal(6, (await Epoch(0)).CacheMisses);
        var second = await Epoch(1);
        Assert.Equal(6, second.CacheHits);
        Assert.Equal(0, second.BytesFetched);
    }
}
