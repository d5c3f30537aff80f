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
        using var s3 = new S3Server();
        using var dir = new TempDir();
        var rows = Enumerable.Range(0, 400).Select(i => new ImageRow(new byte[20_000 + i], $"k{i}", 0)).ToArray();
        await ParquetImageShardWriter.WriteAsync(dir.File("big.parquet"), rows, 50);
        await s3.PutAsync("faults", "big.parquet", dir.File("big.parquet"));

        var options = new ObjectStoreOptions { MaxAttempts = 3, InitialBackoff = TimeSpan.FromMilliseconds(50), RequestTimeout = TimeSpan.FromSeconds(5) };
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
        Assert.Equal(2, chunks);
        Assert.Contains("s3://faults/big.parquet", e.ToString());
        Assert.Contains("3 times", e.ToString()); // the retries happened, then it gave up
        Assert.True(clock.Elapsed < TimeSpan.FromMinutes(1), "no hang");
    }
}
