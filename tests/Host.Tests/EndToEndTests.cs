using System.Text.Json;

namespace Contrastive.Host.Tests;

/// <summary>The thin real path end to end on generated data, with a small budget.</summary>
public sealed class EndToEndTests() : TempFolderTest("e2e")
{

    private static Task<(int Code, string Out, string Err)> Run(params string[] args) => CliRunner.Run(args);

    private static JsonElement LastJson(string stdout) =>
        JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement;

    [Fact]
    public async Task Demo_data_then_training_beats_random_init_then_resume_and_eval()
    {
        string data = Path.Combine(Folder, "demo"), run = Path.Combine(Folder, "run");
        var (code, _, err) = await Run("demo-data", "--output", data, "--count", "2000", "--seed", "0");
        Assert.True(code == 0, err);
        Assert.Equal(2, Directory.GetFiles(data, "*.parquet").Length);

        // Deterministic settings: one worker, step-bounded, fixed seed.
        (code, var stdout, err) = await Run("train", "--data", data, "--out", run, "--max-steps", "150", "--max-minutes", "0",
            "--batch-size", "128", "--workers", "1", "--seed", "0", "--checkpoint-every", "100", "--json");
        Assert.True(code == 0, err);
        var r = LastJson(stdout);
        Assert.Equal(150, r.GetProperty("steps").GetInt64());
        Assert.Equal(150 * 128, r.GetProperty("samples").GetInt64());
        double trained = r.GetProperty("knn_top1").GetDouble(), random = r.GetProperty("knn_top1_random_init").GetDouble();
        Assert.True(trained > random, $"trained kNN {trained} is not above random-init {random}");
        string checkpoint = r.GetProperty("checkpoint").GetString()!;
        Assert.True(File.Exists(checkpoint));
        Assert.True(r.GetProperty("final_loss").GetDouble() < Math.Log(2 * 128 - 1));

        // Resume continues from the newest checkpoint and counts the earlier steps.
        (code, stdout, err) = await Run("train", "--data", data, "--out", run, "--max-steps", "155", "--max-minutes", "0",
            "--batch-size", "128", "--workers", "1", "--resume", "--json");
        Assert.True(code == 0, err);
        var resumed = LastJson(stdout);
        Assert.Equal(150, resumed.GetProperty("resumed_from_step").GetInt64());
        Assert.Equal(155, resumed.GetProperty("steps").GetInt64());

        // eval on the same data as bank and queries: the encoder's nearest neighbour of each image is itself.
        (code, stdout, err) = await Run("eval", "--checkpoint", checkpoint, "--train-data", data, "--test-data", Path.Combine(data, "shard-00001.parquet"), "--json");
        Assert.True(code == 0, err);
        Assert.InRange(LastJson(stdout).GetProperty("knn_top1").GetDouble(), trained - 0.001, 1.0);
    }
}
