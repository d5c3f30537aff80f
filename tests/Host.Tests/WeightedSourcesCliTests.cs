using System.Text.Json;

namespace Contrastive.Host.Tests;

/// <summary>
/// train with weighted sources (--data A:0.7 --data B:0.3): the samples taken from each in --json, a run stopped halfway
/// and resumed equal to an uninterrupted one bit for bit, and the refusals a person needs (a bad weight, a resume with
/// other data, a command that reads one location). In the Alone collection: bitwise equality needs torch's thread count
/// unchanged throughout (see ExactResumeTests).
/// </summary>
[Collection(nameof(AloneCollection))]
public sealed class WeightedSourcesCliTests() : TempFolderTest("weighted")
{
    private static JsonElement LastJson(string stdout) => JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement;

    [Fact]
    public async Task Two_weighted_sources_train_by_weight_and_resume_exactly()
    {
        string a = Path.Combine(Folder, "a"), b = Path.Combine(Folder, "b");
        var (code, _, err) = await CliRunner.Run("demo-data", "--output", a, "--count", "400", "--seed", "3");
        Assert.True(code == 0, err);
        (code, _, err) = await CliRunner.Run("demo-data", "--output", b, "--count", "120", "--seed", "4");
        Assert.True(code == 0, err);
        string[] common = ["train", "--data", $"{a}:0.7", "--data", $"{b}:0.3", "--max-steps", "14", "--max-minutes", "0", "--batch-size", "32",
            "--image-size", "16", "--workers", "2", "--deterministic", "--threads", "1", "--seed", "5", "--checkpoint-every", "0", "--json"];

        (code, var stdout, err) = await CliRunner.Run([.. common, "--out", Path.Combine(Folder, "whole")]);
        Assert.True(code == 0, err);
        var whole = LastJson(stdout);
        var sources = whole.GetProperty("sources").EnumerateArray().ToList();
        Assert.Equal(2, sources.Count);
        Assert.Equal(a, sources[0].GetProperty("uri").GetString());
        Assert.Equal(0.7, sources[0].GetProperty("weight").GetDouble(), 6);
        long fromA = sources[0].GetProperty("samples").GetInt64(), fromB = sources[1].GetProperty("samples").GetInt64();
        Assert.Equal(14 * 32, fromA + fromB); // every sample trained on (no bad ones), by source
        Assert.Equal(fromA, sources[0].GetProperty("trained").GetInt64()); // counted from the batches: the same with --deterministic
        Assert.Equal(fromB, sources[1].GetProperty("trained").GetInt64());
        Assert.InRange(fromA, 0.7 * 14 * 32 - 1, 0.7 * 14 * 32 + 1);
        // The small source (108 training samples) is read again: its second epoch has begun; the large one is in its first.
        Assert.Equal(1, sources[1].GetProperty("epoch").GetInt32());
        Assert.Equal(0, sources[0].GetProperty("epoch").GetInt32());
        Assert.Contains("Source 1: " + b, err, StringComparison.Ordinal);

        (code, stdout, err) = await CliRunner.Run([.. common, "--out", Path.Combine(Folder, "split"), "--until-step", "7"]);
        Assert.True(code == 0, err);
        Assert.Equal(7, LastJson(stdout).GetProperty("steps").GetInt64());
        (code, stdout, err) = await CliRunner.Run([.. common, "--out", Path.Combine(Folder, "split"), "--resume"]);
        Assert.True(code == 0, err);
        var resumed = LastJson(stdout);
        Assert.Equal(7, resumed.GetProperty("resumed_from_step").GetInt64());
        Assert.Equal(fromA, resumed.GetProperty("sources")[0].GetProperty("samples").GetInt64()); // counted over the whole run
        Assert.Equal(7 * 32, resumed.GetProperty("sources").EnumerateArray().Sum(x => x.GetProperty("trained").GetInt64())); // by this process

        var w = new Contrastive.Training.CheckpointStore(Path.Combine(Folder, "whole"), 3).LatestIntact(_ => { })!;
        var s = new Contrastive.Training.CheckpointStore(Path.Combine(Folder, "split"), 3).LatestIntact(_ => { })!;
        Assert.Equal(14, s.Info.Step);
        Assert.NotNull(w.Info.Cursor!.Value.Mix);
        Assert.Equal(w.Info.Cursor, s.Info.Cursor);
        Assert.True(w.Model.AsSpan().SequenceEqual(s.Model), "model parameters differ after the resume");
        Assert.True(w.Optimizer.AsSpan().SequenceEqual(s.Optimizer), "optimizer state differs after the resume");

        // A resume with other data is refused, naming both.
        (code, _, err) = await CliRunner.Run("train", "--data", a, "--out", Path.Combine(Folder, "whole"), "--resume", "--max-steps", "16", "--max-minutes", "0",
            "--batch-size", "32", "--image-size", "16", "--workers", "1");
        Assert.Equal(2, code);
        Assert.Contains("was read from 2 weighted sources; this run reads one", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_weight_and_a_command_that_reads_one_location_are_one_line_errors()
    {
        var (code, _, err) = await CliRunner.Run("train", "--data", "x/:0.5", "--data", "y/:0", "--out", Path.Combine(Folder, "r"));
        Assert.Equal(2, code);
        Assert.Contains("--data 'y/:0': the weight after the last ':' is 0; a weight is a positive number.", err, StringComparison.Ordinal);
        (code, _, err) = await CliRunner.Run("inspect", "--data", "x/", "--data", "y/");
        Assert.Equal(2, code);
        Assert.Contains("inspect reads one location", err, StringComparison.Ordinal);
        (code, _, err) = await CliRunner.Run("train", "--method", "cpc", "--data", "x/:1", "--data", "y/:2", "--out", Path.Combine(Folder, "r2"));
        Assert.Equal(2, code);
        Assert.Contains("weighted sources are image datasets", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_sources_come_from_configuration_and_a_command_line_data_replaces_them()
    {
        string a = Path.Combine(Folder, "ca"), b = Path.Combine(Folder, "cb");
        var (code, _, err) = await CliRunner.Run("demo-data", "--output", a, "--count", "200", "--seed", "5");
        Assert.True(code == 0, err);
        (code, _, err) = await CliRunner.Run("demo-data", "--output", b, "--count", "100", "--seed", "6");
        Assert.True(code == 0, err);
        // A real process reading Data:Sources from CONTRASTIVE_ variables (a list in configuration).
        var env = new Dictionary<string, string>
        {
            ["CONTRASTIVE_Data__Sources__0__Uri"] = a, ["CONTRASTIVE_Data__Sources__0__Weight"] = "3",
            ["CONTRASTIVE_Data__Sources__1__Uri"] = b, ["CONTRASTIVE_Data__Sources__1__Weight"] = "1",
        };
        string[] common = ["train", "--max-steps", "4", "--max-minutes", "0", "--batch-size", "40", "--image-size", "16", "--workers", "1",
            "--deterministic", "--eval-every", "0", "--json"];
        using (var p = ContrastiveProcess.Start(env, [.. common, "--out", Path.Combine(Folder, "cfg")]))
        {
            Assert.Equal(0, await p.WaitForExit(TimeSpan.FromMinutes(3)));
            var sources = LastJson(p.Out).GetProperty("sources").EnumerateArray().ToList();
            Assert.Equal([a, b], sources.Select(x => x.GetProperty("uri").GetString()));
            Assert.Equal([120L, 40L], sources.Select(x => x.GetProperty("trained").GetInt64())); // 3 : 1 of 160 samples
        }
        // --data on the command line replaces the configured sources (one location: no mix).
        using (var p = ContrastiveProcess.Start(env, [.. common, "--data", b, "--out", Path.Combine(Folder, "one")]))
        {
            Assert.Equal(0, await p.WaitForExit(TimeSpan.FromMinutes(3)));
            Assert.False(LastJson(p.Out).TryGetProperty("sources", out _));
        }
        // Data:Uri and Data:Sources both set is a one-line error naming both.
        using (var p = ContrastiveProcess.Start(new Dictionary<string, string>(env) { ["CONTRASTIVE_Data__Uri"] = a }, [.. common, "--out", Path.Combine(Folder, "both")]))
        {
            Assert.Equal(2, await p.WaitForExit(TimeSpan.FromMinutes(2)));
            Assert.Contains("and so is Data:Sources (2 weighted source(s)): give one or the other", p.Err, StringComparison.Ordinal);
        }
    }
}
