using System.Text.Json;
using Contrastive.Training;

namespace Contrastive.Host.Tests;

/// <summary>`contrastive export`, `train --init-from` and `eval --weights` on a real run's checkpoint.</summary>
public sealed class ExportCliTests() : TempFolderTest("export")
{
    private static readonly TimeSpan Minutes2 = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task An_export_scores_as_its_checkpoint_starts_a_new_run_and_bad_requests_are_one_line_errors()
    {
        string data = Path.Combine(Folder, "train"), test = Path.Combine(Folder, "test"), run = Path.Combine(Folder, "run");
        Assert.Equal(0, (await CliRunner.Run("demo-data", "--output", data, "--count", "96")).Code);
        Assert.Equal(0, (await CliRunner.Run("demo-data", "--output", test, "--count", "48", "--seed", "1")).Code);
        using (var train = ContrastiveProcess.Start("train", "--data", data, "--out", run, "--encoder", "convnet", "--image-size", "32",
            "--batch-size", "8", "--max-steps", "3", "--workers", "1"))
            Assert.True(await train.WaitForExit(Minutes2) == 0, train.Err);

        // The run folder stands for its newest checkpoint; the format follows the extension.
        string encoder = Path.Combine(Folder, "encoder.safetensors");
        var (code, output, err) = await CliRunner.Run("export", "--checkpoint", run, "--out", encoder, "--json");
        Assert.True(code == 0, err);
        using (var json = JsonDocument.Parse(output.Trim().Split('\n')[^1]))
        {
            var r = json.RootElement;
            Assert.Equal("safetensors", r.GetProperty("format").GetString());
            Assert.Equal("encoder", r.GetProperty("part").GetString());
            Assert.Equal(3, r.GetProperty("step").GetInt64());
            Assert.Equal(new FileInfo(encoder).Length, r.GetProperty("bytes").GetInt64());
        }
        var file = SafeTensors.Read(encoder);
        Assert.Equal("simclr", file.Metadata["method"]);
        Assert.Equal("convnet", file.Metadata["encoder"]);
        Assert.Equal("32", file.Metadata["image_size"]);
        Assert.Equal("ckpt-000000003.ckpt", file.Metadata["checkpoint"]);
        Assert.All(file.Entries, e => Assert.StartsWith("features.", e.Name));

        (code, output, err) = await CliRunner.Run("export", "--checkpoint", Path.Combine(run, "ckpt-000000003.ckpt"), "--out", Path.Combine(Folder, "encoder.onnx"), "--onnx-input", "uint8");
        Assert.True(code == 0, err);
        Assert.Contains("encoder of simclr convnet at step 3 → ", output);
        Assert.Contains("(ONNX graph, opset 17, uint8 input, ", output);

        // eval --weights scores the export exactly as eval --checkpoint scores the checkpoint (the baselines too).
        var (c1, fromCheckpoint, e1) = await CliRunner.Run("eval", "--checkpoint", Path.Combine(run, "ckpt-000000003.ckpt"), "--train-data", data, "--test-data", test, "--baselines", "--json");
        Assert.True(c1 == 0, e1);
        var (c2, fromWeights, e2) = await CliRunner.Run("eval", "--weights", encoder, "--train-data", data, "--test-data", test, "--baselines", "--json");
        Assert.True(c2 == 0, e2);
        Assert.Contains("weights: " + encoder + " (convnet, pool 3, 32 px views; ", e2);
        // The same encoder: the same kNN figures (and baselines); a linear probe may flip one near-tied test prediction
        // between two processes (CPU BLAS sums are not bitwise reproducible from one process to the next).
        using (var a = JsonDocument.Parse(fromCheckpoint.Trim().Split('\n')[^1]))
        using (var b = JsonDocument.Parse(fromWeights.Trim().Split('\n')[^1]))
        {
            long tests = a.RootElement.GetProperty("test_samples").GetInt64();
            Assert.Equal(tests, b.RootElement.GetProperty("test_samples").GetInt64());
            Assert.Equal(a.RootElement.GetProperty("train_samples").GetInt64(), b.RootElement.GetProperty("train_samples").GetInt64());
            foreach (var name in new[] { "knn_top1", "knn_top1_random_init", "knn_top1_pixels" })
                Assert.Equal(a.RootElement.GetProperty(name).GetDouble(), b.RootElement.GetProperty(name).GetDouble());
            foreach (var name in new[] { "linear_top1", "linear_top1_random_init", "linear_top1_pixels" })
                Assert.InRange(Math.Abs(a.RootElement.GetProperty(name).GetDouble() - b.RootElement.GetProperty(name).GetDouble()), 0, 1.0 / tests + 1e-9);
        }

        // train --init-from: the whole export (encoder and head) starts a new run.
        string all = Path.Combine(Folder, "all.safetensors");
        Assert.Equal(0, (await CliRunner.Run("export", "--checkpoint", run, "--out", all, "--part", "all")).Code);
        using (var again = ContrastiveProcess.Start("train", "--data", data, "--out", Path.Combine(Folder, "again"), "--encoder", "convnet", "--image-size", "32",
            "--batch-size", "8", "--max-steps", "1", "--workers", "1", "--init-from", all))
        {
            Assert.True(await again.WaitForExit(Minutes2) == 0, again.Err);
            Assert.Contains($"initialised from {all}: encoder and projection (", again.Out + again.Err);
        }

        // Another architecture's weights: one line naming the tensor and both shapes.
        using (var wrong = ContrastiveProcess.Start("train", "--data", data, "--out", Path.Combine(Folder, "wrong"), "--encoder", "convnet", "--image-size", "32",
            "--convnet-pool", "2", "--batch-size", "8", "--max-steps", "1", "--workers", "1", "--init-from", all))
        {
            Assert.Equal(Cli.Usage, await wrong.WaitForExit(Minutes2));
            Assert.Contains($"error: --init-from: tensor 'projection.0.weight' is [256, 2304] in '{all}', the model's is [256, 1024]", wrong.Err);
        }

        (code, _, err) = await CliRunner.Run("export", "--checkpoint", run, "--out", Path.Combine(Folder, "t.onnx"), "--part", "text");
        Assert.Equal(Cli.Usage, code);
        Assert.Contains("error: --part text: only a CLIP checkpoint has a text tower", err);
        (code, _, err) = await CliRunner.Run("eval", "--weights", Path.Combine(Folder, "missing.safetensors"), "--train-data", data, "--test-data", test);
        Assert.Equal(Cli.Usage, code);
        Assert.Contains("--weights: '" + Path.Combine(Folder, "missing.safetensors") + "' does not exist.", err);
        File.WriteAllText(Path.Combine(Folder, "bad.safetensors"), "not a tensor file");
        (code, _, err) = await CliRunner.Run("eval", "--weights", Path.Combine(Folder, "bad.safetensors"), "--train-data", data, "--test-data", test);
        Assert.Equal(Cli.Usage, code);
        Assert.Contains("is not a safetensors file", err);
    }
}
