using System.Globalization;
using System.Net;
using System.Text.Json;

namespace Contrastive.Host.Tests;

/// <summary>
/// The local executor for real: a job of two processes through `mpirun` (Open MPI from openmpi-bin) trains data-parallel and
/// a cancel reaches its ranks (not mpirun) so both checkpoint; a job SIGKILLed fails naming the signal while the service stays
/// ready and runs the next job; a job asking for more processes than the slots is refused at submission.
/// </summary>
public sealed class ServeExecutorTests() : ServeTest("serve-exec")
{
    // As root, mpirun needs both variables (Open MPI's guard); harmless otherwise.
    private static readonly Dictionary<string, string> MpiEnvironment = new()
    {
        ["OMPI_ALLOW_RUN_AS_ROOT"] = "1",
        ["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1",
        ["CONTRASTIVE_Serve__StatusEverySeconds"] = "0.5",
    };

    [Fact]
    public async Task A_two_process_job_trains_under_mpirun_with_equal_parameters_and_a_cancel_checkpoints_both_ranks()
    {
        await MakeData();
        using var s = await ServeProcess.Start(State, DataRoot, env: MpiEnvironment, extra: ["--slots", "2"]);

        var (refused, problem) = await s.Submit(Spec(10, ",\"processes\":3"));
        Assert.Equal(HttpStatusCode.BadRequest, refused);
        Assert.Equal("processes", problem.GetProperty("setting").GetString());
        Assert.Contains("more than this server's 2 process slots (Serve:Slots)", problem.GetProperty("detail").GetString());

        var (status, job) = await s.Submit(Spec(30, ",\"processes\":2"));
        Assert.Equal(HttpStatusCode.Created, status);
        string id = Id(job);
        var done = await s.WaitForState(id, "succeeded", Minutes3);
        Assert.Equal(2, done.GetProperty("processes").GetInt32());
        AssertTwoRanksAgree(done, id, 30);
        Assert.Contains("started 2 processes under mpirun", await s.Http.GetStringAsync($"/api/jobs/{id}/log"));

        // A long one, cancelled once it trains: the ranks get SIGTERM, agree on a step, write one checkpoint and end.
        string longer = Id((await s.Submit(Spec(100_000, ",\"processes\":2,\"max_minutes\":10,\"checkpoint_every\":0"))).Body);
        await s.WaitFor(longer, j => j.GetProperty("step").GetInt64() >= 5, Minutes3, "at step 5");
        Assert.Equal(2, JobProcesses.Trainers(longer).Count);
        using (var r = await s.Http.PostAsync($"/api/jobs/{longer}/cancel", null)) Assert.Equal(HttpStatusCode.Accepted, r.StatusCode);
        var cancelled = await s.WaitForState(longer, "cancelled", Minutes3);
        var stopped = cancelled.GetProperty("result");
        Assert.True(stopped.GetProperty("interrupted").GetBoolean());
        long step = stopped.GetProperty("steps").GetInt64();
        Assert.Equal(step, Contrastive.Training.CheckpointStore.Read(stopped.GetProperty("checkpoint").GetString()!).Info.Step);
        Assert.Contains("asked its 2 training process(es) to write a checkpoint and stop (cancelled)", await s.Http.GetStringAsync($"/api/jobs/{longer}/log"));
    }

    [Fact]
    public async Task A_job_killed_with_sigkill_fails_naming_the_signal_while_the_service_stays_ready_and_runs_the_next_job()
    {
        await MakeData();
        using var s = await ServeProcess.Start(State, DataRoot, env: MpiEnvironment);
        string doomed = Id((await s.Submit(Spec(100_000, ",\"max_minutes\":10"))).Body);
        string next = Id((await s.Submit(Spec(10))).Body);
        await s.WaitFor(doomed, j => j.GetProperty("step").GetInt64() >= 3, Minutes3, "at step 3");
        int trainer = JobProcesses.Trainers(doomed).Single();
        System.Diagnostics.Process.GetProcessById(trainer).Kill(); // SIGKILL, as the out-of-memory killer would

        var failed = await s.WaitForState(doomed, "failed", Minutes3);
        Assert.Contains("killed by SIGKILL (signal 9", failed.GetProperty("error").GetString());
        Assert.Contains("the log's last lines", await s.Http.GetStringAsync($"/api/jobs/{doomed}/log"));
        using (var ready = await s.Http.GetAsync("/readyz")) Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var done = await s.WaitForState(next, "succeeded", Minutes3);
        Assert.Equal(10, done.GetProperty("result").GetProperty("steps").GetInt64());
        Assert.False(s.Process.HasExited);
        Assert.NotEqual(trainer.ToString(CultureInfo.InvariantCulture), done.GetProperty("external_id").GetString());
    }
}
