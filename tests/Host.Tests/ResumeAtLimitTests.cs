using System.Text.Json;

namespace Contrastive.Host.Tests;

/// <summary>A resume of a run that already reached its step limit takes no further step (the service resumes such a run when it was stopped during evaluation).</summary>
public sealed class ResumeAtLimitTests() : TempFolderTest("resumelimit")
{
    [Fact]
    public async Task Resuming_a_finished_run_evaluates_it_again_without_training_past_its_limit()
    {
        string data = Path.Combine(Folder, "demo"), run = Path.Combine(Folder, "run");
        var (code, _, err) = await CliRunner.Run("demo-data", "--output", data, "--count", "300");
        Assert.True(code == 0, err);
        string[] train = ["train", "--data", data, "--out", run, "--max-steps", "5", "--batch-size", "16", "--workers", "1", "--json"];
        (code, _, err) = await CliRunner.Run(train);
        Assert.True(code == 0, err);

        (code, string output, err) = await CliRunner.Run([.. train, "--resume"]);
        Assert.True(code == 0, err);
        var r = JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal(5, r.GetProperty("steps").GetInt64());
        Assert.Equal(5, r.GetProperty("resumed_from_step").GetInt64());
        Assert.False(r.GetProperty("interrupted").GetBoolean());
        Assert.Equal(JsonValueKind.Number, r.GetProperty("knn_top1").ValueKind);
        var lossSteps = File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.TryGetProperty("train/loss", out _)).Select(e => e.GetProperty("step").GetInt64());
        Assert.Equal([1L, 2, 3, 4, 5], lossSteps);
    }
}
