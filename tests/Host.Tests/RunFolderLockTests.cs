using System.Text.Json;
using Contrastive.Training;

namespace Contrastive.Host.Tests;

/// <summary>One writer per run folder, with two real `contrastive train` processes; and metrics rows after a resume's step dropped.</summary>
public sealed class RunFolderLockTests() : TempFolderTest("lock")
{
    private static readonly TimeSpan Minutes2 = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task A_second_train_on_the_same_folder_is_refused_naming_the_holder_and_a_killed_holder_never_blocks()
    {
        string data = Path.Combine(Folder, "demo"), run = Path.Combine(Folder, "run");
        var (code, _, err) = await CliRunner.Run("demo-data", "--output", data, "--count", "300");
        Assert.True(code == 0, err);
        string[] train = ["train", "--data", data, "--out", run, "--batch-size", "16", "--workers", "1", "--checkpoint-every", "2"];

        using var first = ContrastiveProcess.Start([.. train, "--max-minutes", "10"]);
        await first.WaitForLine("Training simclr", Minutes2);

        using (var second = ContrastiveProcess.Start([.. train, "--max-steps", "3"]))
        {
            int exit = await second.WaitForExit(Minutes2);
            Assert.True(exit == 2, $"exit {exit}: {second.Err}");
            var lines = second.Err.Trim().Split('\n');
            Assert.Single(lines);
            Assert.Contains($"--out {run} is in use", lines[0]);
            Assert.Contains($"process {first.Id} on {Environment.MachineName}", lines[0]);
            Assert.Contains("train", lines[0]);
        }
        Assert.False(first.HasExited, first.Err);

        // Let the holder reach a checkpoint, then kill it outright: its lock dies with it.
        for (int i = 0; i < 600 && new CheckpointStore(run).List().Count == 0; i++) await Task.Delay(100);
        Assert.NotEmpty(new CheckpointStore(run).List());
        first.KillHard();

        using var third = ContrastiveProcess.Start([.. train, "--resume", "--max-steps", "400", "--until-step", "1", "--json"]);
        int code3 = await third.WaitForExit(Minutes2);
        Assert.True(code3 == 0, $"exit {code3}: {third.Err}");
        var r = JsonDocument.Parse(third.Out.Trim().Split('\n')[^1]).RootElement;
        Assert.True(r.GetProperty("resumed_from_step").GetInt64() >= 2, third.Out);
        Assert.False(File.Exists(Path.Combine(run, RunFolderLock.HolderFile)), "the holder note stays only while the lock is held");
    }

    [Fact]
    public void In_process_a_held_folder_is_refused_and_released_on_dispose()
    {
        string run = Path.Combine(Folder, "run");
        using (RunFolderLock.Acquire(run, "--out run", "contrastive train (test)"))
        {
            var e = Assert.Throws<UsageException>(() => RunFolderLock.Acquire(run, "--out run"));
            Assert.Contains($"process {Environment.ProcessId}", e.Message);
            Assert.Contains("contrastive train (test)", e.Message);
        }
        using var again = RunFolderLock.Acquire(run, "--out run");
        Assert.Equal(Path.GetFullPath(run), again.Folder);
    }

    [Fact]
    public void A_resume_drops_metrics_rows_after_its_step_and_a_torn_line()
    {
        string run = Path.Combine(Folder, "m");
        using (var log = new MetricsLog(run))
            for (int s = 1; s <= 6; s++) log.Write(s, s, ("train/loss", 1.0 / s));
        File.AppendAllText(Path.Combine(run, "metrics.jsonl"), "{\"step\":7,\"seco"); // a kill -9 mid-line
        using (var log = new MetricsLog(run, resumedFromStep: 4))
            for (int s = 5; s <= 8; s++) log.Write(s, s, ("train/loss", 2.0 / s));

        var steps = File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt64()).ToList();
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8], steps);
        var csv = File.ReadAllLines(Path.Combine(run, "metrics.csv"));
        Assert.Equal("step,seconds,name,value", csv[0]);
        Assert.Equal(Enumerable.Range(1, 8).Select(i => (long)i), csv.Skip(1).Select(l => long.Parse(l.Split(',')[0])));
        Assert.Equal(2.0 / 5, JsonDocument.Parse(File.ReadAllLines(Path.Combine(run, "metrics.jsonl"))[4]).RootElement.GetProperty("train/loss").GetDouble(), 9);
    }
}
