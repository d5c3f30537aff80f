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
                // Without a local cache, every epoch fetches the shards again, at least their image bytes.
                Assert.All(epochs, e => Assert.True(e.GetProperty("bytes_fetched").GetInt64() >= e.GetProperty("image_bytes").GetInt64(), e.ToString()));
                Assert.True(json.RootElement.GetProperty("store_requests").GetInt64() >= epochs.Sum(e => e.GetProperty("store_requests").GetInt64()));
                Assert.Equal(0, json.RootElement.GetProperty("store_retries").GetInt64());
            }
    }
}
