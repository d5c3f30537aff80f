using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace Contrastive.Host.Tests;

/// <summary>
/// The slurm executor on a real single-node SLURM (Debian's slurm-wlm with munge and PMIx, started by
/// tests/tools/slurm-up.sh): a 2-task job through the API trains data-parallel under `srun --mpi=pmix` and succeeds with
/// equal parameters on both ranks; a cancel reaches the ranks, which checkpoint; a job SLURM stops at its time limit is
/// submitted again and resumes from its checkpoint to the end. Alone: the time-limit test needs the job to train at this
/// machine's speed, so that its first one-minute slice stops it early and the next slices finish it in time.
/// </summary>
[Collection(nameof(AloneCollection))]
public sealed class ServeSlurmTests() : ServeTest("serve-slurm")
{
    private static readonly TimeSpan Minutes4 = TimeSpan.FromMinutes(4);

    private static readonly Dictionary<string, string> Environment = new()
    {
        ["OMPI_ALLOW_RUN_AS_ROOT"] = "1",
        ["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1",
        ["CONTRASTIVE_Serve__StatusEverySeconds"] = "0.5",
        ["CONTRASTIVE_Serve__Slurm__PollSeconds"] = "1",
    };

    /// <summary>A job of two processes of one torch thread each.</summary>
    private static string Slurm(long maxSteps, string extra = "") => Spec(maxSteps, ",\"threads\":1,\"processes\":2" + extra);

    private static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Contrastive.Pipeline.sln"))) return d.FullName;
        throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
    }

    private async Task<ServeProcess> Start()
    {
        using (var up = Process.Start(new ProcessStartInfo("bash", [Path.Combine(RepoRoot(), "tests", "tools", "slurm-up.sh")]) { RedirectStandardError = true, UseShellExecute = false })!)
        {
            string err = await up.StandardError.ReadToEndAsync();
            await up.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
            Assert.True(up.ExitCode == 0, "tests/tools/slurm-up.sh (a single-node SLURM; needs root): " + err);
        }
        await MakeData();
        return await ServeProcess.Start(State, DataRoot, env: Environment, extra: ["--executor", "slurm", "--max-concurrent-jobs", "2"]);
    }

    private static async Task<string> SlurmState(string slurmId)
    {
        using var p = Process.Start(new ProcessStartInfo("scontrol", ["show", "job", slurmId]) { RedirectStandardOutput = true, UseShellExecute = false })!;
        string text = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        int at = text.IndexOf("JobState=", StringComparison.Ordinal);
        return at < 0 ? "" : text[(at + 9)..].Split(' ', '\n')[0];
    }

    [Fact]
    public async Task A_two_task_job_trains_under_srun_with_equal_parameters_and_a_cancel_checkpoints_its_ranks()
    {
        using var s = await Start();
        var (status, job) = await s.Submit(Slurm(30, ",\"time_limit\":\"10\""));
        Assert.Equal(HttpStatusCode.Created, status);
        string id = Id(job);
        var done = await s.WaitForState(id, "succeeded", Minutes4);
        Assert.Equal("slurm", done.GetProperty("executor").GetString());
        string slurmId = done.GetProperty("external_id").GetString()!;
        Assert.True(long.TryParse(slurmId, out _), slurmId);
        Assert.Equal("COMPLETED", await SlurmState(slurmId));
        AssertTwoRanksAgree(done, id, 30);
        string script = File.ReadAllText(Path.Combine(State, "jobs", id, "job.sbatch"));
        Assert.Contains("#SBATCH --ntasks=2", script);
        Assert.Contains("#SBATCH --time=10", script);
        Assert.Contains("srun --mpi=pmix -n 2", script);

        // A long one, cancelled while it trains: scancel --signal=TERM reaches the ranks, which agree on a step and checkpoint.
        string longer = Id((await s.Submit(Slurm(100_000, ",\"max_minutes\":10,\"checkpoint_every\":0"))).Body);
        await s.WaitFor(longer, j => j.GetProperty("step").GetInt64() >= 5, Minutes4, "at step 5");
        using (var r = await s.Http.PostAsync($"/api/jobs/{longer}/cancel", null)) Assert.Equal(HttpStatusCode.Accepted, r.StatusCode);
        var cancelled = await s.WaitForState(longer, "cancelled", Minutes4);
        var stopped = cancelled.GetProperty("result");
        Assert.True(stopped.GetProperty("interrupted").GetBoolean());
        Assert.Equal(stopped.GetProperty("steps").GetInt64(), Contrastive.Training.CheckpointStore.Read(stopped.GetProperty("checkpoint").GetString()!).Info.Step);

        // A spec's SLURM placement is checked at submission.
        var (bad, problem) = await s.Submit(Slurm(10, ",\"time_limit\":\"soon\""));
        Assert.Equal(HttpStatusCode.BadRequest, bad);
        Assert.Equal("time_limit", problem.GetProperty("setting").GetString());
    }

    [Fact]
    public async Task A_job_stopped_at_its_time_limit_is_submitted_again_and_resumes_from_its_checkpoint_to_the_end()
    {
        using var s = await Start();
        // A one-minute limit on a run of a few minutes: SLURM sends SIGTERM at the limit, the ranks checkpoint, the service
        // submits the job again (a new SLURM job), which resumes from that checkpoint, and so on until the run ends.
        string id = Id((await s.Submit(Slurm(2500, ",\"time_limit\":\"1\",\"checkpoint_every\":0"))).Body);
        var first = await s.WaitFor(id, j => j.GetProperty("state").GetString() == "running" && j.GetProperty("external_id").ValueKind == JsonValueKind.String, Minutes4, "submitted");
        string firstSlurm = first.GetProperty("external_id").GetString()!;
        var done = await s.WaitFor(id, j => j.GetProperty("state").GetString() is "succeeded" or "failed", TimeSpan.FromMinutes(8), "ended");
        Assert.True(done.GetProperty("state").GetString() == "succeeded", done.ToString());
        Assert.True(done.GetProperty("restarts").GetInt32() >= 1, done.ToString());
        Assert.NotEqual(firstSlurm, done.GetProperty("external_id").GetString());
        Assert.Equal("TIMEOUT", await SlurmState(firstSlurm));
        var result = done.GetProperty("result");
        Assert.Equal(2500, result.GetProperty("steps").GetInt64());
        Assert.True(result.GetProperty("resumed_from_step").GetInt64() > 0, result.ToString());
        string log = await s.Http.GetStringAsync($"/api/jobs/{id}/log?lines=10000");
        Assert.Contains($"(SLURM job {firstSlurm}: TIMEOUT): it resumes", log);
        Assert.Contains("resuming (restart 1)", log);
        // Every step once in the metrics across the resubmission.
        using var r = await s.Http.GetAsync($"/api/jobs/{id}/metrics?limit=100000");
        var steps = (await ServeProcess.Json(r)).EnumerateArray().Where(x => x.TryGetProperty("train/loss", out _)).Select(x => x.GetProperty("step").GetInt64()).ToList();
        Assert.Equal(Enumerable.Range(1, 2500).Select(i => (long)i), steps);
    }
}
