using Contrastive.Ingest.Tests;

namespace Contrastive.Host.Tests;

/// <summary>A service job reading its data from object storage (s3rver): its requests, retries and bytes fetched on /metrics.</summary>
// In the "s3" collection: each S3Server points the process's AWS_ENDPOINT_URL_S3 at itself, so its tests run one at a time.
[Collection("s3")]
public sealed class ServeStoreMetricsTests() : TempFolderTest("serve-store")
{
    [Fact]
    public async Task A_running_job_reading_object_storage_shows_its_store_traffic_on_metrics()
    {
        using var s3 = new S3Server();
        await s3.Client.PutBucketAsync("corpus");
        string data = Path.Combine(Folder, "demo");
        var (code, _, err) = await CliRunner.Run("demo-data", "--output", data, "--count", "300");
        Assert.True(code == 0, err);
        foreach (var file in Directory.GetFiles(data, "*.parquet"))
            await s3.PutAsync("corpus", "demo/" + Path.GetFileName(file), file);

        using var s = await ServeProcess.Start(Path.Combine(Folder, "state"), "s3://corpus/");
        var (_, job) = await s.Submit("""{"method":"simclr","data":"s3://corpus/demo/","max_steps":100000,"max_minutes":10,"batch_size":16,"workers":1,"eval_every":0}""");
        string id = job.GetProperty("id").GetString()!;
        await s.WaitFor(id, j => j.GetProperty("step").GetInt64() >= 3, TimeSpan.FromMinutes(3), "at step 3");
        // The figures come with the job's status (every Serve:StatusEverySeconds): poll /metrics until they are there.
        string metrics = "";
        for (int i = 0; i < 60 && !metrics.Contains($"contrastive_job_store_requests{{job=\"{id}\"}}", StringComparison.Ordinal); i++)
        {
            metrics = await s.Http.GetStringAsync("/metrics");
            if (!metrics.Contains($"contrastive_job_store_requests{{job=\"{id}\"}}", StringComparison.Ordinal)) await Task.Delay(500);
        }
        var line = metrics.Split('\n').Single(l => l.StartsWith($"contrastive_job_store_requests{{job=\"{id}\"}} ", StringComparison.Ordinal));
        Assert.True(double.Parse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture) > 0, line);
        Assert.Contains($"contrastive_job_store_retries{{job=\"{id}\"}} 0", metrics);
        var bytes = metrics.Split('\n').Single(l => l.StartsWith($"contrastive_job_store_bytes_fetched{{job=\"{id}\"}} ", StringComparison.Ordinal));
        Assert.True(double.Parse(bytes.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture) > 0, bytes);
        using var cancel = await s.Http.PostAsync($"/api/jobs/{id}/cancel", null);
        await s.WaitForState(id, "cancelled", TimeSpan.FromMinutes(3));
    }
}
