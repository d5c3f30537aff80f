using System.Text.Json;
using Contrastive.Training;

namespace Contrastive.Host.Tests;

/// <summary>`train --method clip` end to end: captions through the pipeline, retrieval, resume, zero-shot eval and the errors.</summary>
public sealed class ClipCliTests() : TempFolderTest("clip")
{
    private static JsonElement LastJson(string stdout) => JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement;

    private static readonly string[] Tiny = ["--text-width", "32", "--text-layers", "1", "--context-length", "32", "--image-size", "16", "--batch-size", "16",
        "--workers", "1", "--max-minutes", "0", "--seed", "5", "--json"];

    private async Task<string> Captioned(string name = "captions", int count = 200)
    {
        string data = Path.Combine(Folder, name);
        var (code, _, err) = await CliRunner.Run("demo-data", "--kind", "captions", "--output", data, "--count", count.ToString(), "--width", "32", "--height", "32", "--seed", "2");
        Assert.True(code == 0, err);
        return data;
    }

    [Fact]
    public async Task Clip_trains_on_captions_reports_retrieval_resumes_and_classifies_zero_shot_by_class_names()
    {
        string data = await Captioned(), run = Path.Combine(Folder, "run");
        var (code, stdout, err) = await CliRunner.Run(["train", "--method", "clip", "--data", data, "--out", run, "--max-steps", "4", "--checkpoint-every", "2", .. Tiny]);
        Assert.True(code == 0, err);
        Assert.Contains("Text tower: 1 blocks 32 wide", err);
        var r = LastJson(stdout);
        Assert.Equal(4, r.GetProperty("steps").GetInt64());
        Assert.Equal(0, r.GetProperty("bad_samples").GetInt64());
        foreach (var which in new[] { "retrieval", "retrieval_random_init" })
        {
            var recall = r.GetProperty(which);
            Assert.InRange(recall.GetProperty("samples").GetInt64(), 8, 40); // the held-out split: about 10 % of 200, drawn by a hash of each sample
            foreach (var k in new[] { "i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r5", "t2i_r10" })
                Assert.InRange(recall.GetProperty(k).GetDouble(), 0, 1);
            Assert.True(recall.GetProperty("i2t_r10").GetDouble() >= recall.GetProperty("i2t_r1").GetDouble());
        }
        Assert.InRange(r.GetProperty("step_metrics").GetProperty("logit_scale").GetDouble(), 1, 100);
        Assert.InRange(r.GetProperty("knn_top1").GetDouble(), 0, 1);
        Assert.Contains("Image-text retrieval on", File.ReadAllText(r.GetProperty("report").GetString()!)); // the run's report says it too

        // The checkpoint holds both towers and the tokenizer's name.
        var ckpt = CheckpointStore.Read(r.GetProperty("checkpoint").GetString()!);
        Assert.Equal("clip", ckpt.Info.Method);
        var options = JsonDocument.Parse(ckpt.Info.MethodOptions!).RootElement;
        Assert.Equal("gpt2-bpe", options.GetProperty("Tokenizer").GetString());
        Assert.Equal(32, options.GetProperty("ContextLength").GetInt32());
        using (var method = (ClipMethod)ContrastiveTrainer.Load(ckpt, TorchSharp.torch.CPU))
        {
            Assert.Equal(32, method.Network.Text.Width);
            Assert.Contains(method.Network.named_parameters(), p => p.name.StartsWith("Text.", StringComparison.Ordinal) || p.name.Contains("token", StringComparison.Ordinal));
        }

        (code, stdout, err) = await CliRunner.Run(["train", "--method", "clip", "--data", data, "--out", run, "--max-steps", "6", "--resume", "--checkpoint-every", "2", .. Tiny]);
        Assert.True(code == 0, err);
        var resumed = LastJson(stdout);
        Assert.Equal(4, resumed.GetProperty("resumed_from_step").GetInt64());
        Assert.Equal(6, resumed.GetProperty("steps").GetInt64());
        string checkpoint = resumed.GetProperty("checkpoint").GetString()!;

        // Zero-shot with the shape names, by --classes and by --classes-file, against the random-init towers.
        string names = string.Join(",", Contrastive.Host.DemoCaptionGenerator.Shapes);
        (code, stdout, err) = await CliRunner.Run("eval", "--checkpoint", checkpoint, "--test-data", data, "--zero-shot", "--classes", names,
            "--templates", "a drawing of a {}.|a {} shape.", "--baselines", "--workers", "1", "--json");
        Assert.True(code == 0, err);
        var z = LastJson(stdout);
        Assert.Equal(7, z.GetProperty("classes").GetInt32());
        Assert.Equal(2, z.GetProperty("templates").GetInt32());
        Assert.Equal(200, z.GetProperty("test_samples").GetInt64());
        foreach (var k in new[] { "zero_shot_top1", "zero_shot_top5", "zero_shot_top1_random_init", "zero_shot_top5_random_init" })
            Assert.InRange(z.GetProperty(k).GetDouble(), 0, 1);
        Assert.True(z.GetProperty("zero_shot_top5").GetDouble() >= z.GetProperty("zero_shot_top1").GetDouble());

        string file = Path.Combine(Folder, "classes.txt");
        File.WriteAllLines(file, ["# the demo's shapes, in label order", .. Contrastive.Host.DemoCaptionGenerator.Shapes, ""]);
        (code, stdout, err) = await CliRunner.Run("eval", "--checkpoint", checkpoint, "--test-data", data, "--zero-shot", "--classes-file", file,
            "--templates", "a drawing of a {}.|a {} shape.", "--train-data", data, "--workers", "1", "--json");
        Assert.True(code == 0, err);
        var both = LastJson(stdout);
        Assert.Equal(z.GetProperty("zero_shot_top1").GetDouble(), both.GetProperty("zero_shot_top1").GetDouble(), 12); // the same names the same way
        Assert.InRange(both.GetProperty("knn_top1").GetDouble(), 0, 1); // with --train-data, kNN and the probe too
    }

    [Fact]
    public async Task Clip_without_captions_zero_shot_without_a_text_tower_and_missing_class_names_are_clear_errors()
    {
        string images = Path.Combine(Folder, "images");
        var (code, stdout, err) = await CliRunner.Run("demo-data", "--output", images, "--count", "64", "--width", "32", "--height", "32");
        Assert.True(code == 0, err);
        (code, _, err) = await CliRunner.Run(["train", "--method", "clip", "--data", images, "--out", Path.Combine(Folder, "nope"), "--max-steps", "2", .. Tiny]);
        Assert.Equal(2, code);
        Assert.Contains("has no captions", err);
        Assert.Contains("--text-column", err);

        (code, stdout, err) = await CliRunner.Run("train", "--method", "simclr", "--data", images, "--out", Path.Combine(Folder, "simclr"), "--max-steps", "2",
            "--batch-size", "16", "--image-size", "16", "--workers", "1", "--max-minutes", "0", "--json");
        Assert.True(code == 0, err);
        string simclr = LastJson(stdout).GetProperty("checkpoint").GetString()!;
        (code, _, err) = await CliRunner.Run("eval", "--checkpoint", simclr, "--test-data", images, "--zero-shot", "--classes", "a,b,c,d,e,f,g,h,i,j");
        Assert.Equal(2, code);
        Assert.Contains("no text tower", err);

        (code, _, err) = await CliRunner.Run("eval", "--checkpoint", simclr, "--test-data", images, "--zero-shot");
        Assert.Equal(2, code);
        Assert.Contains("--classes", err);
        (code, _, err) = await CliRunner.Run("eval", "--checkpoint", simclr, "--test-data", images, "--zero-shot", "--classes", "a,b", "--templates", "no placeholder");
        Assert.Equal(2, code);
        Assert.Contains("{}", err);
    }

    [Fact]
    public async Task Clip_without_data_trains_on_the_captioned_demo_set()
    {
        string demo = Path.Combine(Folder, "demo-captions");
        using var p = ContrastiveProcess.Start(new Dictionary<string, string> { ["CONTRASTIVE_Data__DemoCaptionsPath"] = demo, ["CONTRASTIVE_Data__DemoCount"] = "64" },
            ["train", "--method", "clip", "--out", Path.Combine(Folder, "run"), "--max-steps", "2", .. Tiny]);
        Assert.Equal(0, await p.WaitForExit(TimeSpan.FromMinutes(3)));
        Assert.Contains("writing the captioned demo dataset", p.Err);
        Assert.True(Contrastive.Host.DemoDataset.Exists(demo));
        Assert.Equal(2, LastJson(p.Out).GetProperty("steps").GetInt64());
    }
}
