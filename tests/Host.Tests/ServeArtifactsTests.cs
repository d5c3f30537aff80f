using System.Net;
using System.Text.Json;
using Contrastive.Training;

namespace Contrastive.Host.Tests;

/// <summary>
/// A real `contrastive serve` with an API key: a finished job's exports listed and downloaded (made by `contrastive export`
/// child processes), its online evaluation points in the metrics and on the job page in headless Chromium, and foreign
/// weights read only from under a data root.
/// </summary>
public sealed class ServeArtifactsTests() : TempFolderTest("serveartifacts")
{
    [Fact]
    public async Task A_finished_jobs_exports_are_listed_and_downloaded_behind_the_key_and_its_online_evaluation_is_drawn()
    {
        string data = Path.Combine(Folder, "data");
        var (code, _, err) = await CliRunner.Run("demo-data", "--output", Path.Combine(data, "demo"), "--count", "300");
        Assert.True(code == 0, err);
        string key = "k3y-" + Guid.NewGuid().ToString("N"), keyFile = Path.Combine(Folder, "api.key");
        await File.WriteAllTextAsync(keyFile, key + "\n");
        using var s = await ServeProcess.Start(Path.Combine(Folder, "state"), data, key: key, extra: ["--api-key-file", keyFile]);

        // Foreign weights come only from under a data root, like data.
        var (status, refused) = await s.Submit("""{"method":"simclr","data":"demo","init_from":"/etc/passwd"}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("init_from: '/etc/passwd' is outside the data roots", refused.GetProperty("detail").GetString());

        var (_, job) = await s.Submit("""{"method":"simclr","data":"demo","encoder":"convnet","image_size":32,"max_steps":30,"max_minutes":0,"batch_size":16,"workers":1,"eval_every":10}""");
        string id = job.GetProperty("id").GetString()!;
        var done = await s.WaitForState(id, "succeeded", TimeSpan.FromMinutes(4));
        var online = done.GetProperty("result").GetProperty("online_eval").EnumerateArray().ToList();
        Assert.Equal([10L, 20L, 30L], online.Select(p => p.GetProperty("step").GetInt64()));
        Assert.All(online, p => Assert.InRange(p.GetProperty("knn_top1").GetDouble(), 0, 1));
        using (var metrics = await s.Http.GetAsync($"/api/jobs/{id}/metrics"))
        {
            var rows = (await ServeProcess.Json(metrics)).EnumerateArray().Where(r => r.TryGetProperty("eval/online_knn_top1", out _)).Select(r => r.GetProperty("step").GetInt64());
            Assert.Equal([10L, 20L, 30L], rows);
        }

        // Behind the key.
        using (var anonymous = new HttpClient { BaseAddress = s.Http.BaseAddress })
        {
            using var r = await anonymous.GetAsync($"/api/jobs/{id}/artifacts");
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
            using var d = await anonymous.GetAsync($"/api/jobs/{id}/artifacts/encoder.safetensors");
            Assert.Equal(HttpStatusCode.Unauthorized, d.StatusCode);
        }
        using (var early = await s.Http.GetAsync($"/api/jobs/{id}/artifacts/encoder.safetensors"))
        {
            Assert.Equal(HttpStatusCode.NotFound, early.StatusCode); // not made until listed
            Assert.Contains("GET /api/jobs/" + id + "/artifacts makes its exports", await early.Content.ReadAsStringAsync());
        }
        using (var list = await s.Http.GetAsync($"/api/jobs/{id}/artifacts"))
        {
            Assert.Equal(HttpStatusCode.OK, list.StatusCode);
            var body = await ServeProcess.Json(list);
            var names = body.GetProperty("artifacts").EnumerateArray().Select(a => a.GetProperty("name").GetString()).ToList();
            Assert.Equal(["encoder.safetensors", "encoder.onnx"], names);
            Assert.Empty(body.GetProperty("unavailable").EnumerateObject());
        }
        string file = Path.Combine(Folder, "downloaded.safetensors");
        using (var d = await s.Http.GetAsync($"/api/jobs/{id}/artifacts/encoder.safetensors"))
        {
            Assert.Equal(HttpStatusCode.OK, d.StatusCode);
            await File.WriteAllBytesAsync(file, await d.Content.ReadAsByteArrayAsync());
        }
        var weights = SafeTensors.Read(file);
        Assert.Equal("30", weights.Metadata["step"]);
        Assert.Equal("convnet", weights.Metadata["encoder"]);
        Assert.Equal("ckpt-000000030.ckpt", weights.Metadata["checkpoint"]);
        using (var d = await s.Http.GetAsync($"/api/jobs/{id}/artifacts/encoder.onnx"))
        {
            var bytes = await d.Content.ReadAsByteArrayAsync();
            Assert.Equal([0x08, 0x08], bytes.Take(2)); // ModelProto's first field: ir_version 8
        }
        using (var nope = await s.Http.GetAsync($"/api/jobs/{id}/artifacts/..%2Fjobs.db"))
            Assert.Equal(HttpStatusCode.NotFound, nope.StatusCode);
        using (var nope = await s.Http.GetAsync("/api/jobs/nosuchjob/artifacts"))
            Assert.Equal(HttpStatusCode.NotFound, nope.StatusCode);

        // The job page draws the online points (its fourth chart after loss, rate, images/s and starvation).
        await using var browser = await ChromiumPage.Open($"http://127.0.0.1:{s.Port}/jobs/{id}");
        await browser.Evaluate($"sessionStorage.setItem('contrastive-key', '{key}'); location.reload(); 1");
        await browser.WaitFor("+(document.getElementById('chart-4')?.dataset.points || 0) === 3", TimeSpan.FromMinutes(1), "3 online kNN points drawn");
        Assert.Equal("online kNN top-1 (held-out images)", (await browser.Evaluate("document.querySelector('#chart-4 .u-title').textContent"))!.GetValue<string>());
        Assert.DoesNotContain("eval/online_knn_top1", (await browser.Evaluate("document.getElementById('evals').textContent"))!.GetValue<string>());
        string png = Path.Combine(Folder, "job.png");
        await browser.Screenshot(png);
        Assert.True(new FileInfo(png).Length > 20_000, "the screenshot is nearly empty");
        string keep = Environment.GetEnvironmentVariable("CONTRASTIVE_TEST_SCREENSHOTS") ?? "";
        if (keep.Length > 0) File.Copy(png, Path.Combine(keep, "serve-online-eval.png"), overwrite: true);
    }
}
