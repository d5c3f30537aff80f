using System.Text.Json;

namespace Contrastive.Host.Tests;

/// <summary>Online evaluation (--eval-every): points in --json and metrics.jsonl, and the same weights as a run without it.</summary>
public sealed class OnlineEvaluationTests() : TempFolderTest("online")
{
    private static readonly TimeSpan Minutes3 = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task Online_points_are_logged_every_n_steps_and_the_run_trains_the_same_weights_as_without_them()
    {
        string data = Path.Combine(Folder, "data");
        Assert.Equal(0, (await CliRunner.Run("demo-data", "--output", data, "--count", "200")).Code);
        string[] common = ["train", "--data", data, "--encoder", "convnet", "--image-size", "32", "--batch-size", "16", "--max-steps", "12",
            "--max-minutes", "0", "--workers", "1", "--json"]; // no time limit: the schedule is then a function of the step alone

        using var with = ContrastiveProcess.Start([.. common, "--out", Path.Combine(Folder, "with"), "--eval-every", "4"]);
        Assert.True(await with.WaitForExit(Minutes3) == 0, with.Err);
        using var without = ContrastiveProcess.Start([.. common, "--out", Path.Combine(Folder, "without")]);
        Assert.True(await without.WaitForExit(Minutes3) == 0, without.Err);

        using var a = JsonDocument.Parse(with.Out.Trim().Split('\n')[^1]);
        using var b = JsonDocument.Parse(without.Out.Trim().Split('\n')[^1]);
        var points = a.RootElement.GetProperty("online_eval").EnumerateArray().ToList();
        Assert.Equal([4L, 8L, 12L], points.Select(p => p.GetProperty("step").GetInt64()));
        Assert.True(a.RootElement.GetProperty("online_eval_seconds").GetDouble() > 0);
        Assert.False(b.RootElement.TryGetProperty("online_eval", out _));
        Assert.False(b.RootElement.TryGetProperty("store_requests", out _)); // local data: nothing asked of object storage
        // Each epoch as read: whole epochs hold the training split, every sample trained was read, local data fetches nothing.
        var epochs = b.RootElement.GetProperty("epochs").EnumerateArray().ToList();
        Assert.Equal(Enumerable.Range(0, epochs.Count), epochs.Select(e => e.GetProperty("epoch").GetInt32()));
        var whole = epochs.Where(e => e.GetProperty("complete").GetBoolean()).Select(e => e.GetProperty("samples").GetInt64()).ToList();
        Assert.NotEmpty(whole);
        Assert.All(whole, n => Assert.Equal(whole[0], n));
        Assert.InRange(whole[0], 150, 200); // 200 images less the held-out share
        Assert.True(epochs.Sum(e => e.GetProperty("samples").GetInt64()) >= b.RootElement.GetProperty("samples").GetInt64());
        Assert.All(epochs, e => Assert.Equal(0, e.GetProperty("bytes_fetched").GetInt64()));
        // Eval mode, no gradient, no random draw: the weights are the same bits.
        Assert.Equal(b.RootElement.GetProperty("parameter_checksum").GetString(), a.RootElement.GetProperty("parameter_checksum").GetString());
        // The last point is the end-of-run kNN when the bank and the queries are all of both splits.
        Assert.Equal(Math.Round(a.RootElement.GetProperty("knn_top1").GetDouble(), 4), points[^1].GetProperty("knn_top1").GetDouble());

        var logged = File.ReadLines(Path.Combine(Folder, "with", "metrics.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Where(r => r.TryGetProperty("eval/online_knn_top1", out _))
            .Select(r => (r.GetProperty("step").GetInt64(), r.GetProperty("eval/online_knn_top1").GetDouble())).ToList();
        Assert.Equal(points.Select(p => (p.GetProperty("step").GetInt64(), p.GetProperty("knn_top1").GetDouble())), logged);
        Assert.Contains("Online evaluation every 4 steps: kNN top-1 (k=20) of ", with.Err);
        Assert.Contains("step 8: online kNN top-1 ", with.Err);
    }

    [Fact]
    public async Task A_run_without_labels_or_images_trains_on_and_says_why_it_has_no_online_evaluation()
    {
        string series = Path.Combine(Folder, "series");
        Assert.Equal(0, (await CliRunner.Run("demo-data", "--output", series, "--kind", "series", "--count", "24", "--length", "2000")).Code);
        using var cpc = ContrastiveProcess.Start("train", "--method", "cpc", "--data", series, "--out", Path.Combine(Folder, "cpc"), "--max-steps", "2",
            "--batch-size", "8", "--workers", "1", "--eval-every", "1");
        Assert.True(await cpc.WaitForExit(Minutes3) == 0, cpc.Err);
        Assert.Contains("Evaluation:Every 1: no online evaluation, it scores image features, and cpc trains on series (its evaluation runs at the end)", cpc.Out + cpc.Err);
    }

    [Fact]
    public async Task A_clip_run_given_class_names_adds_zero_shot_points_and_bad_names_are_one_line_errors()
    {
        string captions = Path.Combine(Folder, "captions");
        Assert.Equal(0, (await CliRunner.Run("demo-data", "--output", captions, "--kind", "captions", "--count", "160")).Code);
        const string shapes = "circle,square,triangle,star,ring,cross,hexagon"; // the demo captions' labels, in order
        using var clip = ContrastiveProcess.Start("train", "--method", "clip", "--data", captions, "--out", Path.Combine(Folder, "clip"), "--max-steps", "4",
            "--max-minutes", "0", "--batch-size", "16", "--workers", "1", "--eval-every", "2", "--zero-shot-classes", shapes, "--json");
        Assert.True(await clip.WaitForExit(Minutes3) == 0, clip.Err);
        using var result = JsonDocument.Parse(clip.Out.Trim().Split('\n')[^1]);
        var points = result.RootElement.GetProperty("online_eval").EnumerateArray().ToList();
        Assert.Equal([2L, 4L], points.Select(p => p.GetProperty("step").GetInt64()));
        Assert.All(points, p => Assert.InRange(p.GetProperty("zero_shot_top1").GetDouble(), 0, 1));
        Assert.Contains("and zero-shot top-1 over 7 class names", clip.Err);
        Assert.Equal(2, File.ReadLines(Path.Combine(Folder, "clip", "metrics.jsonl")).Count(l => l.Contains("\"eval/online_zero_shot_top1\"", StringComparison.Ordinal)));

        using var few = ContrastiveProcess.Start("train", "--method", "clip", "--data", captions, "--out", Path.Combine(Folder, "few"), "--max-steps", "2",
            "--batch-size", "16", "--workers", "1", "--eval-every", "2", "--zero-shot-classes", "circle,square");
        Assert.Equal(Cli.Usage, await few.WaitForExit(Minutes3));
        Assert.Contains("error: Evaluation:OnlineClasses names 2 classes, but the held-out images have label ", few.Err);
        var (code, _, err) = await CliRunner.Run("train", "--data", captions, "--out", Path.Combine(Folder, "simclr"), "--eval-every", "2", "--zero-shot-classes", shapes);
        Assert.Equal(Cli.Usage, code);
        Assert.Contains("Evaluation:OnlineClasses is for zero-shot classification by an image-text method (clip); simclr has no text tower.", err);
    }
}
