using System.Diagnostics;
using System.Net;
using Microsoft.Data.Sqlite;

namespace Contrastive.Host.Tests;

/// <summary>
/// A full disk is a job's problem, not the service's: the state directory on a small tmpfs (mounted by the test; the test
/// command runs as root here and in CI) fills with a job's checkpoints; that job fails naming the cause, new jobs get 507,
/// /readyz says why, the service keeps serving, and once space returns it takes and runs jobs again; the database stays whole.
/// </summary>
public sealed class ServeDiskTests() : TempFolderTest("serve-disk")
{
    private static readonly TimeSpan Minutes3 = TimeSpan.FromMinutes(3);

    private static async Task Run(params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(args[0], args[1..]) { RedirectStandardError = true, UseShellExecute = false })!;
        string err = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, $"{string.Join(' ', args)}: exit {p.ExitCode}: {err}");
    }

    private static string Spec(long maxSteps) =>
        $$"""{"method":"simclr","data":"demo","max_steps":{{maxSteps}},"batch_size":16,"workers":1,"checkpoint_every":10}""";

    [Fact]
    public async Task A_full_disk_fails_the_job_that_hit_it_refuses_new_jobs_with_507_and_the_service_recovers_when_space_returns()
    {
        string data = Path.Combine(Folder, "data"), fs = Path.Combine(Folder, "fs"), state = Path.Combine(fs, "state");
        var (code, _, err) = await CliRunner.Run("demo-data", "--output", Path.Combine(data, "demo"), "--count", "300");
        Assert.True(code == 0, err);
        Directory.CreateDirectory(fs);
        await Run("mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", fs);
        try
        {
            using var s = await ServeProcess.Start(state, data, extra: ["--min-free-mb", "16"]);
            // Each checkpoint is about 12 MB and three are kept: the fourth does not fit in 40 MB.
            string id = (await s.Submit(Spec(40))).Body.GetProperty("id").GetString()!;
            var failed = await s.WaitForState(id, "failed", Minutes3);
            string error = failed.GetProperty("error").GetString()!;
            Assert.True(error.Contains("No space left on device", StringComparison.Ordinal) || error.Contains("the disk was full", StringComparison.Ordinal), error);

            Assert.Equal("ok\n", await s.Http.GetStringAsync("/healthz"));
            using (var ready = await s.Http.GetAsync("/readyz"))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
                Assert.Contains("under Serve:MinFreeMb 16 MB", await ready.Content.ReadAsStringAsync());
            }
            var (full, problem) = await s.Submit(Spec(5));
            Assert.Equal(HttpStatusCode.InsufficientStorage, full);
            Assert.Contains("no job is accepted while the disk is short", problem.GetProperty("detail").GetString());

            // Space returns: the service is ready again by itself and runs the next job.
            foreach (var f in Directory.GetFiles(Path.Combine(state, "jobs", id), "ckpt-*")) File.Delete(f);
            await s.WaitReady(TimeSpan.FromSeconds(30));
            var (created, job) = await s.Submit(Spec(5));
            Assert.Equal(HttpStatusCode.Created, created);
            await s.WaitForState(job.GetProperty("id").GetString()!, "succeeded", Minutes3);
            Assert.False(s.Process.HasExited);

            using var db = new SqliteConnection($"Data Source={Path.Combine(state, "jobs.db")};Mode=ReadOnly;Pooling=false");
            db.Open();
            using var check = db.CreateCommand();
            check.CommandText = "PRAGMA integrity_check";
            Assert.Equal("ok", check.ExecuteScalar());
        }
        finally
        {
            JobProcesses.KillUnder(Folder);
            await Run("umount", "-l", fs);
        }
    }
}
