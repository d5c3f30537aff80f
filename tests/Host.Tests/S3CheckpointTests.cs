using System.Text.Json;
using Amazon.S3.Model;
using Contrastive.Ingest.Tests;
using Contrastive.Training;

namespace Contrastive.Host.Tests;

/// <summary>`train --out s3://bucket/prefix` against a real S3-protocol server (s3rver): checkpoints uploaded (multipart when large), the last K kept, a resume from the newest intact one.</summary>
// In the "s3" collection: each S3Server points the process's AWS_ENDPOINT_URL_S3 at itself, so its tests run one at a time.
[Collection("s3")]
public sealed class S3CheckpointTests() : TempFolderTest("s3ckpt")
{
    private static async Task<List<string>> Keys(S3Server s3, string bucket, string prefix) =>
        [.. ((await s3.Client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, Prefix = prefix })).S3Objects ?? []).Select(o => o.Key).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task Checkpoints_go_to_the_bucket_in_parts_the_last_k_stay_and_a_resume_takes_the_newest_intact_one()
    {
        using var s3 = new S3Server();
        await s3.Client.PutBucketAsync("ckpts");
        string data = Path.Combine(Folder, "demo");
        var (code, _, err) = await CliRunner.Run("demo-data", "--output", data, "--count", "300");
        Assert.True(code == 0, err);
        // Each run works in TMPDIR/contrastive-s3/…: a TMPDIR per run stands for another machine, with nothing local to resume from.
        var env = (string tmp) =>
        {
            Directory.CreateDirectory(tmp);
            return new Dictionary<string, string> { ["TMPDIR"] = tmp, ["CONTRASTIVE_ObjectStore__UploadPartSizeMb"] = "5" };
        };
        string[] train = ["train", "--data", data, "--out", "s3://ckpts/runs/a", "--batch-size", "16", "--workers", "1", "--checkpoint-every", "3", "--max-steps", "30", "--json"];

        string firstLog;
        using (var first = ContrastiveProcess.Start(env(Path.Combine(Folder, "tmp1")), [.. train, "--until-step", "12"]))
        {
            Assert.True(await first.WaitForExit(TimeSpan.FromMinutes(3)) == 0, first.Err);
            var r = JsonDocument.Parse(first.Out.Trim().Split('\n')[^1]).RootElement;
            Assert.Equal("s3://ckpts/runs/a/ckpt-000000012.ckpt", r.GetProperty("checkpoint").GetString());
            // The run's object-storage requests (listing, uploads and their parts) are counted; a healthy store needs no retry.
            Assert.True(r.GetProperty("store_requests").GetInt64() >= 4, r.ToString());
            Assert.Equal(0, r.GetProperty("store_retries").GetInt64());
            firstLog = first.Err;
        }
        Assert.Equal(["runs/a/ckpt-000000006.ckpt", "runs/a/ckpt-000000009.ckpt", "runs/a/ckpt-000000012.ckpt", "runs/a/metrics.csv", "runs/a/metrics.jsonl"],
            await Keys(s3, "ckpts", "runs/a/"));
        string fetched = Path.Combine(Folder, "12.ckpt");
        using (var o = await s3.Client.GetObjectAsync("ckpts", "runs/a/ckpt-000000012.ckpt"))
            await o.WriteResponseStreamToFileAsync(fetched, false, default);
        Assert.Equal(12, CheckpointStore.Read(fetched).Info.Step); // the whole file, checksum verified
        // More than one 5 MiB part (the default ConvNet's checkpoint is about 13 MB), each part full but the last.
        long parts = (new FileInfo(fetched).Length + (5L << 20) - 1) / (5L << 20);
        Assert.True(parts >= 2, $"the checkpoint fits one part ({new FileInfo(fetched).Length} bytes): the test no longer covers multipart uploads");
        Assert.Contains($"Uploaded s3://ckpts/runs/a/ckpt-000000012.ckpt in {parts} parts", firstLog);

        // The newest checkpoint in the bucket is damaged: the resume, on a fresh machine, skips it for the one before.
        var bytes = await File.ReadAllBytesAsync(fetched);
        bytes[bytes.Length / 2] ^= 0xFF;
        await File.WriteAllBytesAsync(fetched, bytes);
        await s3.PutAsync("ckpts", "runs/a/ckpt-000000012.ckpt", fetched);

        using (var second = ContrastiveProcess.Start(env(Path.Combine(Folder, "tmp2")), [.. train, "--resume"]))
        {
            Assert.True(await second.WaitForExit(TimeSpan.FromMinutes(3)) == 0, second.Err);
            var r = JsonDocument.Parse(second.Out.Trim().Split('\n')[^1]).RootElement;
            Assert.Equal(9, r.GetProperty("resumed_from_step").GetInt64());
            Assert.Equal(30, r.GetProperty("steps").GetInt64());
            Assert.Equal("s3://ckpts/runs/a/ckpt-000000030.ckpt", r.GetProperty("checkpoint").GetString());
            Assert.Contains("Skipping checkpoint", second.Err);
            Assert.Contains("checksum mismatch", second.Err);
        }
        Assert.Equal(["runs/a/ckpt-000000024.ckpt", "runs/a/ckpt-000000027.ckpt", "runs/a/ckpt-000000030.ckpt", "runs/a/metrics.csv", "runs/a/metrics.jsonl"],
            await Keys(s3, "ckpts", "runs/a/"));
        using var metrics = await s3.Client.GetObjectAsync("ckpts", "runs/a/metrics.jsonl");
        using var reader = new StreamReader(metrics.ResponseStream);
        var lossSteps = (await reader.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement).Where(e => e.TryGetProperty("train/loss", out _)).Select(e => e.GetProperty("step").GetInt64()).ToList();
        Assert.Equal(Enumerable.Range(1, 30).Select(i => (long)i), lossSteps); // steps 10-12 of the first run dropped, logged once by the resume
    }

    [Fact]
    public async Task Service_jobs_with_a_checkpoint_prefix_upload_there_and_a_restart_on_lost_local_checkpoints_resumes_from_the_bucket()
    {
        using var s3 = new S3Server();
        await s3.Client.PutBucketAsync("jobs");
        string root = Path.Combine(Folder, "data"), state = Path.Combine(Folder, "state");
        var (code, _, err) = await CliRunner.Run("demo-data", "--output", Path.Combine(root, "demo"), "--count", "300");
        Assert.True(code == 0, err);
        var env = new Dictionary<string, string> { ["CONTRASTIVE_ObjectStore__UploadPartSizeMb"] = "5" };
        const string spec = """{"method":"simclr","data":"demo","max_steps":40,"batch_size":16,"workers":1,"checkpoint_every":3}""";

        string id;
        using (var s = await ServeProcess.Start(state, root, env: env, extra: ["--checkpoint-prefix", "s3://jobs/serve"]))
        {
            id = (await s.Submit(spec)).Body.GetProperty("id").GetString()!;
            var running = await s.WaitFor(id, j => j.GetProperty("step").GetInt64() >= 8 && j.GetProperty("checkpoint").ValueKind == JsonValueKind.String,
                TimeSpan.FromMinutes(3), "past a checkpoint");
            Assert.StartsWith($"s3://jobs/serve/jobs/{id}/ckpt-", running.GetProperty("checkpoint").GetString());
            s.Process.KillHard(tree: true); // the service and its job
        }
        var uploaded = (await Keys(s3, "jobs", $"serve/jobs/{id}/")).Where(k => k.EndsWith(".ckpt", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(uploaded);
        // The machine's copies are lost: only the bucket has the checkpoints now.
        foreach (var f in Directory.GetFiles(Path.Combine(state, "jobs", id), "ckpt-*")) File.Delete(f);

        using var again = await ServeProcess.Start(state, root, env: env, extra: ["--checkpoint-prefix", "s3://jobs/serve"]);
        var done = await again.WaitForState(id, "succeeded", TimeSpan.FromMinutes(3));
        var result = done.GetProperty("result");
        long resumed = result.GetProperty("resumed_from_step").GetInt64();
        Assert.Equal($"serve/jobs/{id}/ckpt-{resumed:D9}.ckpt", uploaded[^1]); // the newest that was in the bucket
        Assert.Equal($"s3://jobs/serve/jobs/{id}/ckpt-000000040.ckpt", result.GetProperty("checkpoint").GetString());
        Assert.Equal($"s3://jobs/serve/jobs/{id}/ckpt-000000040.ckpt", done.GetProperty("checkpoint").GetString());
        Assert.Contains("Fetched s3://jobs/serve/jobs/", await again.Http.GetStringAsync($"/api/jobs/{id}/log?lines=1000"));
        Assert.Equal([$"serve/jobs/{id}/ckpt-000000036.ckpt", $"serve/jobs/{id}/ckpt-000000039.ckpt", $"serve/jobs/{id}/ckpt-000000040.ckpt",
            $"serve/jobs/{id}/metrics.csv", $"serve/jobs/{id}/metrics.jsonl"], await Keys(s3, "jobs", $"serve/jobs/{id}/"));
    }
}
