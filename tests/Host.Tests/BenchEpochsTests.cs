using System.Text.Json;
using Contrastive.Ingest.Tests;

namespace Contrastive.Host.Tests;

/// <summary>`bench --epochs N`: whole epochs read, each reported with its samples and its object-storage traffic.</summary>
// In the "s3" collection: each S3Server points the process's AWS_ENDPOINT_URL_S3 at itself, so its tests run one at a time.
[Collection("s3")]
public sealed class BenchEpochsTests() : TempFolderTest("bench-epochs")
{
    [Fact]
    public async Task Whole_epochs_are_read_and_reported_from_disk_and_from_object_storage()
    {
        using var s3 = new S3Server();
        await s3.Client.PutBucketAsync("corpus");
        string data = Path.Combine(Folder, "demo");
        var (code, _, err) = await CliRunner.Run("demo-data", "--output", data, "--count", "240");
        Assert.True(code == 0, err);
        foreach (var file in Directory.GetFiles(data, "*.parquet"))
            await s3.PutAsync("corpus", "train/" + Path.GetFileName(file), file);

        foreach (var (source, remote) in new[] { (data, false), ("s3://corpus/train/", true) })
            foreach (var stage in new[] { "all", "ingest" })
            {
                using var bench = ContrastiveProcess.Start("bench", "--data", source, "--epochs", "2", "--stage", stage, "--workers", "1", "--batch-size", "64", "--json");
                Assert.True(await bench.WaitForExit(TimeSpan.FromMinutes(2)) == 0, bench.Err);
                using var json = JsonDocument.Parse(bench.Out.Trim().Split('\n')[^1]);
                var epochs = json.RootElement.GetProperty("epochs").EnumerateArray().ToList();
                Assert.Equal([0, 1], epochs.Select(e => e.GetProperty("epoch").GetInt32()));
                Assert.All(epochs, e => Assert.Equal(240, e.GetProperty("samples").GetInt64()));
                Assert.Contains("2 whole epoch(s)", bench.Err);
                Assert.Contains("bench: epoch 1: 240 samples in ", bench.Err);
                if (!remote)
                {
                    Assert.All(epochs, e => Assert.Equal(0, e.GetProperty("bytes_fetched").GetInt64()));
                    Assert.False(json.RootElement.TryGetProperty("store_requests", out _));
                    continue;
                }
                // Without a local cache, every epoch fetches the shards again: their row groups, about once (the footers were
                // kept from the dataset's open).
                long shards = Directory.GetFiles(data, "*.parquet").Sum(f => new FileInfo(f).Length);
                Assert.All(epochs, e => Assert.InRange(e.GetProperty("bytes_fetched").GetInt64(), shards * 9 / 10, shards * 11 / 10));
                Assert.True(json.RootElement.GetProperty("store_requests").GetInt64() >= epochs.Sum(e => e.GetProperty("store_requests").GetInt64()));
                Assert.Equal(0, json.RootElement.GetProperty("store_retries").GetInt64());
            }
    }
}

/// <summary>`--cache DIR`: the shard cache seen from the command line, across epochs and processes.</summary>
[Collection("s3")]
public sealed class ShardCacheCliTests() : TempFolderTest("shard-cache")
{
    private static List<JsonElement> Epochs(ContrastiveProcess p)
    {
        var json = JsonDocument.Parse(p.Out.Trim().Split('\n')[^1]).RootElement;
        return json.GetProperty("epochs").EnumerateArray().ToList();
    }

    [Fact]
    public async Task Epochs_after_the_first_read_the_cache_and_processes_share_it_within_its_budget()
    {
        using var s3 = new S3Server();
        await s3.Client.PutBucketAsync("corpus");
        string data = Path.Combine(Folder, "demo");
        var (code, _, err) = await CliRunner.Run("demo-data", "--output", data, "--count", "400");
        Assert.True(code == 0, err);
        var files = Directory.GetFiles(data, "*.parquet");
        foreach (var file in files) await s3.PutAsync("corpus", "train/" + Path.GetFileName(file), file);
        long corpus = files.Sum(f => new FileInfo(f).Length);
        string cache = Path.Combine(Folder, "cache");
        ContrastiveProcess Bench(int epochs, string folder, double mb) => ContrastiveProcess.Start(
            new Dictionary<string, string> { ["CONTRASTIVE_Data__CacheMb"] = mb.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            "bench", "--data", "s3://corpus/train/", "--epochs", epochs.ToString(), "--stage", "ingest", "--workers", "1", "--batch-size", "32", "--cache", folder, "--json");

        // One process, two epochs: the first fetches every shard into the cache, the second fetches nothing.
        using (var one = Bench(2, cache, 1024))
        {
            Assert.True(await one.WaitForExit(TimeSpan.FromMinutes(2)) == 0, one.Err);
            var epochs = Epochs(one);
            Assert.All(epochs, e => Assert.Equal(400, e.GetProperty("samples").GetInt64()));
            Assert.Equal(files.Length, epochs[0].GetProperty("cache_misses").GetInt64());
            Assert.Equal(0, epochs[1].GetProperty("bytes_fetched").GetInt64());
            Assert.Equal(files.Length, epochs[1].GetProperty("cache_hits").GetInt64());
            Assert.Contains($", cache {files.Length} hit(s), 0 miss(es)", one.Err);
            var json = JsonDocument.Parse(one.Out.Trim().Split('\n')[^1]).RootElement;
            Assert.Equal(corpus + 24L * files.Length, json.GetProperty("cache_bytes").GetInt64());
        }

        // Another process (a restart) reads its first epoch from the cache the first one left.
        using (var next = Bench(1, cache, 1024))
        {
            Assert.True(await next.WaitForExit(TimeSpan.FromMinutes(2)) == 0, next.Err);
            var epoch = Epochs(next).Single();
            Assert.Equal(0, epoch.GetProperty("bytes_fetched").GetInt64());
            Assert.Equal(files.Length, epoch.GetProperty("cache_hits").GetInt64());
        }

        // Two processes at once on one cache with room for about one shard: both read every sample, the folder stays within its budget.
        string tight = Path.Combine(Folder, "tight");
        double mb = (files.Max(f => new FileInfo(f).Length) + 1000) / 1048576.0;
        using var a = Bench(2, tight, mb);
        using var b = Bench(2, tight, mb);
        long most = 0;
        var objects = Path.Combine(tight, "objects");
        long OnDisk() => Directory.Exists(objects) ? new DirectoryInfo(objects).EnumerateFiles().Sum(f => { try { return f.Length; } catch (FileNotFoundException) { return 0L; } }) : 0;
        for (int i = 0; i < 60_000 && !(a.HasExited && b.HasExited); i++)
        {
            most = Math.Max(most, OnDisk());
            await Task.Delay(2);
        }
        Assert.True(await a.WaitForExit(TimeSpan.FromMinutes(2)) == 0, a.Err);
        Assert.True(await b.WaitForExit(TimeSpan.FromMinutes(2)) == 0, b.Err);
        foreach (var p in new[] { a, b })
            Assert.All(Epochs(p), e => Assert.Equal(400, e.GetProperty("samples").GetInt64()));
        long left = OnDisk();
        Assert.True(left > 0 && Math.Max(most, left) <= (long)(mb * 1048576), $"{most} bytes on disk at most while they ran, {left} after; budget {(long)(mb * 1048576)}");
        // The second epoch of both found the entry one of them wrote.
        Assert.All(new[] { a, b }, p => Assert.Equal(files.Length, Epochs(p)[1].GetProperty("cache_hits").GetInt64()));
        Assert.Empty(Directory.GetFiles(objects, "*.tmp"));
    }
}
