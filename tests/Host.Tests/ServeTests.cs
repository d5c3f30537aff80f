using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Contrastive.Host.Serve;
using Contrastive.Training;

namespace Contrastive.Host.Tests;

/// <summary>
/// `contrastive serve` as a real process: real Kestrel on a free loopback port, a real SQLite file, each job its own
/// `contrastive train` process on a small generated dataset; submit, watch, cancel, bad specs, kill -9 of the service (the job
/// trains on and is re-attached) or of the service with its jobs (they resume), SIGTERM with restarts, the API key.
/// </summary>
public sealed class ServeTests() : ServeTest("serve")
{
    private static string StateOf(JsonElement job) => job.GetProperty("state").GetString()!;

    /// <summary>Each step of train/loss once, 1..steps, from the job's metrics endpoint.</summary>
    private static async Task AssertLossStepsOnce(ServeProcess s, string id, long steps)
    {
        using var r = await s.Http.GetAsync($"/api/jobs/{id}/metrics");
        var rows = (await ServeProcess.Json(r)).EnumerateArray().ToList();
        var lossSteps = rows.Where(x => x.TryGetProperty("train/loss", out _)).Select(x => x.GetProperty("step").GetInt64()).ToList();
        Assert.Equal(lossSteps.Distinct().Count(), lossSteps.Count);
        Assert.Equal(Enumerable.Range(1, (int)steps).Select(i => (long)i), lossSteps);
    }

    [Fact]
    public async Task A_job_is_submitted_watched_to_success_and_a_running_one_cancelled_after_its_checkpoint()
    {
        await MakeData();
        using var s = await ServeProcess.Start(State, DataRoot);

        var (status, job) = await s.Submit(Spec(20));
        Assert.Equal(HttpStatusCode.Created, status);
        string id = Id(job);
        Assert.Matches("^j[0-9]{14}-[0-9a-f]{12}$", id);
        Assert.Equal("queued", StateOf(job));

        var done = await s.WaitForState(id, "succeeded", Minutes3);
        var result = done.GetProperty("result");
        Assert.Equal(20, result.GetProperty("steps").GetInt64());
        Assert.False(result.GetProperty("interrupted").GetBoolean());
        Assert.InRange(result.GetProperty("knn_top1").GetDouble(), 0, 1);
        Assert.Equal(20, done.GetProperty("step").GetInt64());
        Assert.Equal(0, done.GetProperty("restarts").GetInt32());
        Assert.EndsWith("ckpt-000000020.ckpt", done.GetProperty("checkpoint").GetString());
        Assert.StartsWith(Path.Combine(State, "jobs", id), done.GetProperty("checkpoint").GetString());
        await AssertLossStepsOnce(s, id, 20);
        using (var r = await s.Http.GetAsync($"/api/jobs/{id}/metrics?after=15"))
            Assert.Equal([16L, 17, 18, 19, 20], (await ServeProcess.Json(r)).EnumerateArray().Where(x => x.TryGetProperty("train/loss", out _)).Select(x => x.GetProperty("step").GetInt64()));
        string log = await s.Http.GetStringAsync($"/api/jobs/{id}/log?lines=50");
        Assert.Contains("succeeded at step 20", log);
        Assert.True(log.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length <= 50);
        Assert.Equal("ok\n", await s.Http.GetStringAsync("/healthz"));
        Assert.Equal("ready\n", await s.Http.GetStringAsync("/readyz"));

        // A long job: running, with its figures on /metrics; then cancelled, with a checkpoint.
        var (_, longJob) = await s.Submit(Spec(100_000, ",\"max_minutes\":10"));
        string lid = Id(longJob);
        var running = await s.WaitFor(lid, j => StateOf(j) == "running" && j.GetProperty("step").GetInt64() >= 6 && j.GetProperty("images_per_sec").ValueKind == JsonValueKind.Number,
            Minutes3, "running with a rate");
        Assert.InRange(running.GetProperty("starvation").GetDouble(), 0, 1);
        Assert.True(running.GetProperty("eta_seconds").GetDouble() > 0);
        string metrics = await s.Http.GetStringAsync("/metrics");
        Assert.Contains($"contrastive_job_state{{job=\"{id}\",state=\"succeeded\"}} 1", metrics);
        Assert.Contains($"contrastive_job_state{{job=\"{lid}\",state=\"running\"}} 1", metrics);
        Assert.Contains($"contrastive_job_step{{job=\"{id}\"}} 20", metrics);
        Assert.Contains($"contrastive_job_images_per_second{{job=\"{lid}\"}}", metrics);
        Assert.Contains($"contrastive_job_epoch{{job=\"{lid}\"}}", metrics);
        Assert.Contains($"contrastive_job_bad_samples{{job=\"{lid}\"}} 0", metrics);
        Assert.DoesNotContain("contrastive_pipeline_", metrics); // the pipeline runs in the job's process, not the service's

        using (var c = await s.Http.PostAsync($"/api/jobs/{lid}/cancel", null))
            Assert.Equal(HttpStatusCode.Accepted, c.StatusCode);
        var cancelled = await s.WaitForState(lid, "cancelled", Minutes3);
        var cr = cancelled.GetProperty("result");
        Assert.True(cr.GetProperty("interrupted").GetBoolean());
        long steps = cr.GetProperty("steps").GetInt64();
        Assert.True(steps >= 6);
        Assert.Equal(steps, CheckpointStore.Read(cr.GetProperty("checkpoint").GetString()!).Info.Step);
        using (var again = await s.Http.PostAsync($"/api/jobs/{lid}/cancel", null))
            Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);

        var list = JsonDocument.Parse(await s.Http.GetStringAsync("/api/jobs")).RootElement;
        Assert.Equal([lid, id], list.EnumerateArray().Select(Id));
    }

    [Fact]
    public async Task A_job_with_weighted_sources_trains_each_by_its_weight_and_lists_them()
    {
        await MakeData();
        await MakeData(Path.Combine(DataRoot, "small"));
        using var s = await ServeProcess.Start(State, DataRoot);

        // 3 : 1 over 10 steps of 16: exactly 120 and 40 samples (the mix holds each weight to within one sample).
        var (status, job) = await s.Submit("""{"method":"simclr","data":["demo:3",{"uri":"small","weight":1}],"max_steps":10,"batch_size":16,"workers":1,"eval_every":0}""");
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal("demo:3, small:1", job.GetProperty("data").GetString());
        var done = await s.WaitForState(Id(job), "succeeded", Minutes3);
        var sources = done.GetProperty("result").GetProperty("sources").EnumerateArray().ToList();
        Assert.Equal([Path.Combine(DataRoot, "demo"), Path.Combine(DataRoot, "small")], sources.Select(x => x.GetProperty("uri").GetString()));
        Assert.Equal([0.75, 0.25], sources.Select(x => x.GetProperty("weight").GetDouble()));
        Assert.Equal([120L, 40], sources.Select(x => x.GetProperty("samples").GetInt64()));
        Assert.Equal([120L, 40], sources.Select(x => x.GetProperty("trained").GetInt64()));
        string log = await s.Http.GetStringAsync($"/api/jobs/{Id(job)}/log?lines=200");
        Assert.Contains("Source 1: ", log);
        Assert.Contains("), weight 1: 25.0", log);
    }

    [Fact]
    public async Task Bad_specs_are_refused_with_problem_details_naming_the_setting()
    {
        await MakeData();
        Directory.CreateDirectory(Path.Combine(Folder, "outside"));
        using var s = await ServeProcess.Start(State, DataRoot);

        async Task Refused(string spec, string setting, string text, HttpStatusCode code = HttpStatusCode.BadRequest)
        {
            using var r = await s.Http.PostAsync("/api/jobs", new StringContent(spec, Encoding.UTF8, "application/json"));
            Assert.Equal(code, r.StatusCode);
            Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
            var p = await ServeProcess.Json(r);
            Assert.Equal((int)code, p.GetProperty("status").GetInt32());
            Assert.Contains(text, p.GetProperty("detail").GetString());
            if (setting.Length > 0) Assert.Equal(setting, p.GetProperty("setting").GetString());
        }

        await Refused("""{"method":"nosuchmethod","data":"demo"}""", "method", "'nosuchmethod' is not registered");
        await Refused($$"""{"data":"{{Path.Combine(Folder, "outside")}}"}""", "data", "is outside the data roots");
        await Refused("""{"data":"demo/../../outside"}""", "data", "contains '..'");
        await Refused("""{"data":"s3://bucket/x"}""", "data", "outside the configured buckets");
        await Refused("""{"data":"nothere"}""", "data", "does not exist");
        await Refused("""{"data":["demo:0.5","nothere:0.5"]}""", "data", $"data[1]: '{Path.Combine(DataRoot, "nothere")}' does not exist");
        await Refused("""{"data":["demo:0.5","/etc:0.5"]}""", "data", "data[1]: '/etc' is outside the data roots");
        await Refused("""{"method":"simclr"}""", "data", "data: is required");
        await Refused("""{"data":"demo","max_steps":"many"}""", "max_steps", "max_steps: 'many' is not a valid whole number");
        await Refused("""{"data":"demo","batch_size":0}""", "batch_size", "batch_size");
        await Refused("""{"data":"demo","batch_size":1048576}""", "batch_size", "batch_size: 1048576 is over this server's limit of 65536 (Serve:Limits:MaxBatchSize)");
        await Refused("""{"data":"demo","batch_size":4096,"image_size":1024}""", "batch_size", "MB of pinned batch memory, over this server's limit of 8192 MB (Serve:Limits:MaxBatchMemoryMb)");
        await Refused("""{"data":"demo","id":"mine"}""", "id", "id: not a train setting");
        await Refused("""{"data":"demo","out":"/tmp/x"}""", "out", "set by the server");
        await Refused("""{"data":"demo","cache":"/etc"}""", "cache", "CONTRASTIVE_Data__CacheDir in the service's environment");
        await Refused("""{"data":"demo","max_steps":[1]}""", "max_steps", "must be a string, number or true/false");
        await Refused("[1,2]", "", "must be a JSON object");
        await Refused("{\"data\":\"" + new string('a', 70_000) + "\"}", "", "at most 65536 bytes", HttpStatusCode.RequestEntityTooLarge);

        using (var r = await s.Http.GetAsync("/api/jobs/j20990101000000-000000000000"))
            Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        using (var r = await s.Http.GetAsync("/api/jobs/..%2F..%2Fetc"))
            Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        Assert.Equal("[]", (await s.Http.GetStringAsync("/api/jobs")).Trim());
    }

    [Fact]
    public async Task Killed_with_sigkill_mid_job_the_service_restarts_and_re_attaches_to_the_same_job_process_which_completes()
    {
        await MakeData();
        string id;
        int pid;
        using (var s = await ServeProcess.Start(State, DataRoot))
        {
            var (_, job) = await s.Submit(Spec(60));
            id = Id(job);
            var running = await s.WaitFor(id, j => j.GetProperty("step").GetInt64() >= 5, Minutes3, "at step 5");
            Assert.Equal("local", running.GetProperty("executor").GetString());
            Assert.Equal(1, running.GetProperty("processes").GetInt32());
            pid = int.Parse(running.GetProperty("external_id").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
            Assert.NotEqual(s.Process.Id, pid); // the job is its own process, not the service's
            Assert.Single(JobProcesses.Trainers(id));
            s.Process.KillHard();
        }
        var trainer = JobProcesses.Trainers(id).Single(); // the job trains on without its service
        using var again = await ServeProcess.Start(State, DataRoot);
        var done = await again.WaitForState(id, "succeeded", Minutes3);
        Assert.Equal(0, done.GetProperty("restarts").GetInt32()); // re-attached, not restarted
        Assert.Equal(pid.ToString(System.Globalization.CultureInfo.InvariantCulture), done.GetProperty("external_id").GetString());
        var result = done.GetProperty("result");
        Assert.Equal(JsonValueKind.Null, result.GetProperty("resumed_from_step").ValueKind);
        Assert.Equal(60, result.GetProperty("steps").GetInt64());
        await AssertLossStepsOnce(again, id, 60);
        string log = await again.Http.GetStringAsync($"/api/jobs/{id}/log");
        Assert.Contains($"re-attached to its process (local executor, id {pid})", log);
        Assert.Contains("Training simclr", log); // the job's own output is in its log, beside the service's lines
        Assert.False(File.Exists($"/proc/{trainer}/stat") && !File.ReadAllText($"/proc/{trainer}/stat").Contains(") Z ", StringComparison.Ordinal), "the job's process ended");
    }

    [Fact]
    public async Task With_on_stop_detach_a_sigterm_leaves_the_job_training_and_the_next_service_re_attaches_to_it()
    {
        await MakeData();
        string id;
        using (var s = await ServeProcess.Start(State, DataRoot, extra: ["--on-stop", "detach"]))
        {
            id = Id((await s.Submit(Spec(60))).Body);
            await s.WaitFor(id, j => j.GetProperty("step").GetInt64() >= 5, Minutes3, "at step 5");
            await s.Process.Terminate();
            Assert.Equal(0, await s.Process.WaitForExit(TimeSpan.FromMinutes(1)));
            Assert.Contains("keep training (Serve:OnStop detach)", s.Process.Out);
        }
        Assert.Single(JobProcesses.Trainers(id)); // an upgrade: the job trains on while no service runs
        using var again = await ServeProcess.Start(State, DataRoot, extra: ["--on-stop", "detach"]);
        var done = await again.WaitForState(id, "succeeded", Minutes3);
        Assert.Equal(0, done.GetProperty("restarts").GetInt32());
        Assert.Equal(60, done.GetProperty("result").GetProperty("steps").GetInt64());
        await AssertLossStepsOnce(again, id, 60);
    }

    [Fact]
    public async Task Killed_with_its_jobs_the_service_restarts_and_the_job_resumes_from_its_checkpoint_without_duplicate_metric_steps()
    {
        await MakeData();
        string id;
        using (var s = await ServeProcess.Start(State, DataRoot))
        {
            var (_, job) = await s.Submit(Spec(60));
            id = Id(job);
            await s.WaitFor(id, j => j.GetProperty("checkpoint").ValueKind == JsonValueKind.String && j.GetProperty("step").GetInt64() >= 12, Minutes3, "past a checkpoint");
            s.Process.KillHard();
            // The job's whole process group too (wrapper and trainer), as a stop of the service's control group would.
            foreach (var (p, _) in JobProcesses.Of(id)) System.Diagnostics.Process.GetProcessById(p).Kill();
        }
        using (var store = new JobStore(Path.Combine(State, "jobs.db")))
            Assert.Equal("running", store.Get(id)!.State); // as the killed service left it

        using var again = await ServeProcess.Start(State, DataRoot);
        var done = await again.WaitForState(id, "succeeded", Minutes3);
        Assert.Equal(1, done.GetProperty("restarts").GetInt32());
        var result = done.GetProperty("result");
        Assert.True(result.GetProperty("resumed_from_step").GetInt64() >= 10, result.ToString());
        Assert.Equal(60, result.GetProperty("steps").GetInt64());
        await AssertLossStepsOnce(again, id, 60);
        string log = await again.Http.GetStringAsync($"/api/jobs/{id}/log");
        Assert.Contains("interrupted: its processes ended without an exit code", log);
        Assert.Contains("resuming (restart 1)", log);
    }

    [Fact]
    public async Task Sigterm_checkpoints_the_running_job_as_interrupted_queued_jobs_stay_queued_and_the_next_start_resumes()
    {
        await MakeData();
        string first, second;
        long stoppedAt;
        using (var s = await ServeProcess.Start(State, DataRoot, extra: ["--shutdown-timeout", "60"]))
        {
            first = Id((await s.Submit(Spec(80))).Body);
            second = Id((await s.Submit(Spec(10))).Body);
            await s.WaitFor(first, j => j.GetProperty("step").GetInt64() >= 5, Minutes3, "at step 5");
            Assert.Equal("queued", StateOf(await s.Job(second)));
            await s.Process.Terminate();
            Assert.Equal(0, await s.Process.WaitForExit(Minutes3));
            Assert.Contains("finish their step and write a checkpoint", s.Process.Out);
        }
        using (var store = new JobStore(Path.Combine(State, "jobs.db")))
        {
            var j = store.Get(first)!;
            Assert.Equal("interrupted", j.State);
            var r = JsonDocument.Parse(j.Result!).RootElement;
            Assert.True(r.GetProperty("interrupted").GetBoolean());
            stoppedAt = r.GetProperty("steps").GetInt64();
            Assert.InRange(stoppedAt, 5, 79);
            Assert.Equal(stoppedAt, CheckpointStore.Read(r.GetProperty("checkpoint").GetString()!).Info.Step);
            Assert.Equal("queued", store.Get(second)!.State);
            Assert.Equal(0, store.Get(second)!.Restarts);
        }

        using var again = await ServeProcess.Start(State, DataRoot);
        var done = await again.WaitForState(first, "succeeded", Minutes3);
        Assert.Equal(1, done.GetProperty("restarts").GetInt32());
        Assert.Equal(stoppedAt, done.GetProperty("result").GetProperty("resumed_from_step").GetInt64());
        await AssertLossStepsOnce(again, first, 80);
        var next = await again.WaitForState(second, "succeeded", Minutes3);
        Assert.Equal(0, next.GetProperty("restarts").GetInt32());
        Assert.Equal(JsonValueKind.Null, next.GetProperty("result").GetProperty("resumed_from_step").ValueKind);
    }

    [Fact]
    public async Task With_an_api_key_every_api_request_needs_it_and_the_key_never_appears_in_the_logs()
    {
        await MakeData();
        string key = "k3y-" + Guid.NewGuid().ToString("N"), keyFile = Path.Combine(Folder, "api.key");
        await File.WriteAllTextAsync(keyFile, key + "\n");
        using var s = await ServeProcess.Start(State, DataRoot, key: key, extra: ["--api-key-file", keyFile]);
        using var anonymous = new HttpClient { BaseAddress = s.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

        foreach (var (method, path) in new[] { ("GET", "/api/jobs"), ("POST", "/api/jobs"), ("GET", "/api/jobs/j1-x"), ("POST", "/api/jobs/j1-x/cancel") })
        {
            using var r = await anonymous.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = method == "POST" ? new StringContent(Spec(5)) : null });
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
            Assert.Equal("Bearer", r.Headers.WwwAuthenticate.Single().Scheme);
        }
        using (var wrong = new HttpRequestMessage(HttpMethod.Get, "/api/jobs"))
        {
            wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key + "x");
            using var r = await anonymous.SendAsync(wrong);
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        }
        Assert.Equal("ok\n", await anonymous.GetStringAsync("/healthz"));

        var (status, job) = await s.Submit(Spec(5));
        Assert.Equal(HttpStatusCode.Created, status);
        await s.WaitForState(Id(job), "succeeded", Minutes3);
        Assert.Contains("API key: required", s.Process.Out);
        Assert.DoesNotContain(key, s.Process.Out + s.Process.Err);
        Assert.DoesNotContain(key, File.ReadAllText(Path.Combine(State, "jobs", Id(job), "job.log")));
    }

    [Fact]
    public async Task An_open_bind_without_a_key_and_a_second_service_on_the_same_state_are_refused_at_start()
    {
        Directory.CreateDirectory(DataRoot);
        using (var open = ContrastiveProcess.Start("serve", "--urls", "http://0.0.0.0:" + ServeProcess.FreePort(), "--state", State))
        {
            Assert.Equal(2, await open.WaitForExit(TimeSpan.FromMinutes(1)));
            Assert.Contains("binds a non-loopback address, which needs an API key", open.Err);
        }
        using var s = await ServeProcess.Start(State, DataRoot);
        using var second = ContrastiveProcess.Start("serve", "--urls", "http://127.0.0.1:" + ServeProcess.FreePort(), "--state", State);
        Assert.Equal(2, await second.WaitForExit(TimeSpan.FromMinutes(1)));
        Assert.Contains($"--state {State} is in use: process {s.Process.Id}", second.Err);
    }

    [Fact]
    public async Task A_job_restarted_while_an_orphan_trains_in_its_folder_is_refused_naming_the_orphan()
    {
        await MakeData();
        string id;
        using (var s = await ServeProcess.Start(State, DataRoot))
        {
            id = Id((await s.Submit(Spec(100_000, ",\"max_minutes\":10"))).Body);
            await s.WaitFor(id, j => j.GetProperty("step").GetInt64() >= 3, Minutes3, "at step 3");
            s.Process.KillHard();
            foreach (var (p, _) in JobProcesses.Of(id)) System.Diagnostics.Process.GetProcessById(p).Kill(); // the job died with it
        }
        // Another process now writes in the job's folder (as an orphaned trainer would).
        string folder = Path.Combine(State, "jobs", id);
        using var orphan = ContrastiveProcess.Start("train", "--data", Path.Combine(DataRoot, "demo"), "--out", folder, "--batch-size", "16", "--workers", "1",
            "--max-minutes", "10", "--resume");
        await orphan.WaitForLine("Training simclr", Minutes3);

        using var again = await ServeProcess.Start(State, DataRoot);
        var failed = await again.WaitForState(id, "failed", Minutes3);
        string error = failed.GetProperty("error").GetString()!;
        Assert.Contains($"is in use: process {orphan.Id} on {Environment.MachineName}", error);
        Assert.Equal(1, failed.GetProperty("restarts").GetInt32());
        Assert.False(orphan.HasExited, "the orphan's run is left alone");
    }
}
