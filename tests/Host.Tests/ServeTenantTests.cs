using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Contrastive.Host.Tests;

/// <summary>
/// Tenants and priorities through a real service: each tenant's key sees only its own jobs and reads only its own data root,
/// a job over its quota is a 429 naming the quota, the admin sees every job; a higher-priority job preempts the running
/// one, which checkpoints, waits as preempted and resumes with every metric step once.
/// </summary>
public sealed class ServeTenantTests() : ServeTest("serve-tenants")
{
    private const string AliceKey = "alice-9f2c41d07a3b5e88", BobKey = "bob-31e0c7d2b94a6f15", AdminKey = "admin-7d81f3a0c6e2b944";

    private static HttpClient Client(ServeProcess s, string key)
    {
        var c = new HttpClient { BaseAddress = s.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return c;
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> Submit(HttpClient c, string spec)
    {
        using var r = await c.PostAsync("/api/jobs", new StringContent(spec, Encoding.UTF8, "application/json"));
        return (r.StatusCode, await ServeProcess.Json(r));
    }

    [Fact]
    public async Task Tenants_see_only_their_own_jobs_and_data_a_job_over_quota_is_a_429_and_the_admin_sees_every_job()
    {
        await MakeData(Path.Combine(DataRoot, "alice", "demo"));
        string keys = Path.Combine(Folder, "keys"), admin = Path.Combine(Folder, "admin.key");
        await File.WriteAllTextAsync(keys, $"{AliceKey} alice 1\n{BobKey} bob\n");
        await File.WriteAllTextAsync(admin, AdminKey);
        using var s = await ServeProcess.Start(State, DataRoot, key: AdminKey, extra: ["--api-keys-file", keys, "--api-key-file", admin]);
        using var alice = Client(s, AliceKey);
        using var bob = Client(s, BobKey);

        var (created, job) = await Submit(alice, Spec(100_000, ",\"max_minutes\":10"));
        Assert.Equal(HttpStatusCode.Created, created);
        string id = Id(job);
        Assert.Equal("alice", job.GetProperty("tenant").GetString());

        // Over the quota of one active job: 429 naming it; nothing is added.
        var (over, problem) = await Submit(alice, Spec(10));
        Assert.Equal((HttpStatusCode)429, over);
        Assert.Equal("max_jobs", problem.GetProperty("quota").GetString());
        Assert.Contains("quota max_jobs: tenant alice has 1 active job(s)", problem.GetProperty("detail").GetString());

        // Bob sees none of it, and alice's data is not his.
        Assert.Equal("[]", (await bob.GetStringAsync("/api/jobs")).Trim());
        foreach (var path in new[] { $"/api/jobs/{id}", $"/api/jobs/{id}/log", $"/api/jobs/{id}/metrics" })
            using (var r = await bob.GetAsync(path)) Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        using (var r = await bob.PostAsync($"/api/jobs/{id}/cancel", null)) Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        var (outside, refusal) = await Submit(bob, Spec(10).Replace("\"data\":\"demo\"", $"\"data\":\"{Path.Combine(DataRoot, "alice", "demo")}\"", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.BadRequest, outside);
        Assert.Equal("data", refusal.GetProperty("setting").GetString());
        Assert.Contains("outside the data roots", refusal.GetProperty("detail").GetString());
        var (missing, none) = await Submit(bob, Spec(10));
        Assert.Equal(HttpStatusCode.BadRequest, missing);
        Assert.Contains(Path.Combine(DataRoot, "bob", "demo"), none.GetProperty("detail").GetString()); // "demo" is in bob's own root

        // The admin sees every job, with its tenant.
        var all = JsonDocument.Parse(await s.Http.GetStringAsync("/api/jobs")).RootElement;
        Assert.Equal("alice", all.EnumerateArray().Single(j => Id(j) == id).GetProperty("tenant").GetString());
        using (var r = await alice.GetAsync("/api/jobs"))
            Assert.Single((await ServeProcess.Json(r)).EnumerateArray());

        // Her job trains on "demo" in her own root; she cancels it, and her quota frees.
        await s.WaitFor(id, j => j.GetProperty("step").GetInt64() >= 2, Minutes3, "at step 2");
        using (var r = await alice.PostAsync($"/api/jobs/{id}/cancel", null)) Assert.Equal(HttpStatusCode.Accepted, r.StatusCode);
        await s.WaitForState(id, "cancelled", Minutes3);
        Assert.Equal(HttpStatusCode.Created, (await Submit(alice, Spec(5))).Status);

        Assert.Contains("API key: required (2 tenant key(s) and the admin's)", s.Process.Out);
        foreach (var key in new[] { AliceKey, BobKey, AdminKey }) Assert.DoesNotContain(key, s.Process.Out + s.Process.Err);
    }

    [Fact]
    public async Task A_higher_priority_job_preempts_the_running_one_which_resumes_later_with_every_step_once()
    {
        await MakeData(Path.Combine(DataRoot, "demo"));
        using var s = await ServeProcess.Start(State, DataRoot, env: new Dictionary<string, string> { ["CONTRASTIVE_Serve__StatusEverySeconds"] = "0.5" });
        string low = Id((await s.Submit(Spec(60))).Body);
        await s.WaitFor(low, j => j.GetProperty("step").GetInt64() >= 5, Minutes3, "at step 5");

        var (status, high) = await s.Submit(Spec(10, ",\"priority\":5"));
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal(5, high.GetProperty("priority").GetInt32());
        var preempted = await s.WaitFor(low, j => j.GetProperty("state").GetString() is "preempted" or "succeeded", Minutes3, "preempted");
        Assert.Equal("preempted", preempted.GetProperty("state").GetString());
        long stoppedAt = preempted.GetProperty("result").GetProperty("steps").GetInt64();
        Assert.InRange(stoppedAt, 5, 59);

        await s.WaitForState(Id(high), "succeeded", Minutes3);
        var done = await s.WaitForState(low, "succeeded", Minutes3);
        Assert.Equal(1, done.GetProperty("restarts").GetInt32());
        Assert.Equal(stoppedAt, done.GetProperty("result").GetProperty("resumed_from_step").GetInt64());
        Assert.Equal(60, done.GetProperty("result").GetProperty("steps").GetInt64());
        // Every step once in the metrics, across the preemption.
        using var r = await s.Http.GetAsync($"/api/jobs/{low}/metrics");
        var steps = (await ServeProcess.Json(r)).EnumerateArray().Where(x => x.TryGetProperty("train/loss", out _)).Select(x => x.GetProperty("step").GetInt64()).ToList();
        Assert.Equal(Enumerable.Range(1, 60).Select(i => (long)i), steps);
        string log = await s.Http.GetStringAsync($"/api/jobs/{low}/log");
        Assert.Contains("(preempted)", log);
        Assert.Contains($"preempted at step {stoppedAt}", log);
        Assert.Contains("resuming (restart 1)", log);
        Assert.Contains($"is preempted for job {Id(high)} (priority 5)", s.Process.Out);
    }
}
