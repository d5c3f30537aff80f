using System.Text.Json;
using Contrastive.Training;

namespace Contrastive.Host.Tests;

/// <summary>Defaults that follow the data: small images at their own size and whole for evaluation, photos as before, explicit settings always win.</summary>
public sealed class DataDefaultsTests() : TempFolderTest("defaults")
{
    private static readonly Func<string, bool> Nothing = _ => false;

    [Fact]
    public void Small_grayscale_images_get_their_own_size_no_blur_no_grayscale_draw_and_a_whole_image_evaluation()
    {
        var (augment, evaluation) = (new AugmentOptions(), new EvaluationOptions());
        var chosen = DataDefaults.ForTraining(new ImageShape(28, 28, Grayscale: true, 64), augment, evaluation, Nothing);
        Assert.Equal(28, augment.Size);
        Assert.Equal(0, augment.BlurProbability);
        Assert.Equal(0, augment.GrayscaleProbability);
        Assert.Equal(1.0, evaluation.CropFraction);
        Assert.Equal(DataDefaults.SmallScaleMin, augment.ScaleMin);
        Assert.Equal(DataDefaults.GrayJitterStrength, augment.JitterStrength);
        Assert.Equal(6, chosen.Count);
        Assert.Contains(chosen, c => c.StartsWith("Augment:JitterStrength 1 (", StringComparison.Ordinal));
        Assert.Contains(chosen, c => c.StartsWith("Augment:ScaleMin 0.4 (", StringComparison.Ordinal));
        Assert.Contains(chosen, c => c.StartsWith("Augment:Size 28", StringComparison.Ordinal));
    }

    [Fact]
    public void Small_colour_images_keep_the_colour_jitter_and_grayscale_draw()
    {
        var (augment, evaluation) = (new AugmentOptions(), new EvaluationOptions());
        var chosen = DataDefaults.ForTraining(new ImageShape(32, 32, Grayscale: false, 64), augment, evaluation, Nothing);
        Assert.Equal((32, DataDefaults.SmallScaleMin, 0.0, 1.0), (augment.Size, augment.ScaleMin, augment.BlurProbability, evaluation.CropFraction));
        Assert.Equal(new AugmentOptions().JitterStrength, augment.JitterStrength);
        Assert.Equal(new AugmentOptions().GrayscaleProbability, augment.GrayscaleProbability);
        Assert.DoesNotContain(chosen, c => c.StartsWith("Augment:JitterStrength", StringComparison.Ordinal) || c.StartsWith("Augment:Grayscale", StringComparison.Ordinal));
    }

    [Fact]
    public void Photo_sized_images_keep_the_photo_defaults()
    {
        var (augment, evaluation) = (new AugmentOptions(), new EvaluationOptions());
        var chosen = DataDefaults.ForTraining(new ImageShape(400, 300, Grayscale: false, 64), augment, evaluation, Nothing);
        Assert.Empty(chosen);
        var (plainAugment, plainEvaluation) = (new AugmentOptions(), new EvaluationOptions());
        Assert.Equal(JsonSerializer.Serialize(plainAugment), JsonSerializer.Serialize(augment));
        Assert.Equal(JsonSerializer.Serialize(plainEvaluation), JsonSerializer.Serialize(evaluation));
        Assert.Contains("none changed", DataDefaults.Describe(new ImageShape(400, 300, false, 64), chosen));
    }

    [Fact]
    public void An_explicit_setting_always_wins()
    {
        var augment = new AugmentOptions { Size = 64, BlurProbability = 0.3, ScaleMin = 0.08, GrayscaleProbability = 0.1, JitterStrength = 0.4 };
        var evaluation = new EvaluationOptions { CropFraction = 0.9 };
        var given = new HashSet<string>(["Augment:Size", "augment:blurprobability", "Augment:ScaleMin", "Augment:GrayscaleProbability", "Augment:JitterStrength",
            "Evaluation:CropFraction"], StringComparer.OrdinalIgnoreCase);
        var chosen = DataDefaults.ForTraining(new ImageShape(28, 28, Grayscale: true, 64), augment, evaluation, given.Contains);
        Assert.Empty(chosen);
        Assert.Equal((64, 0.3, 0.08, 0.1, 0.4, 0.9),
            (augment.Size, augment.BlurProbability, augment.ScaleMin, augment.GrayscaleProbability, augment.JitterStrength, evaluation.CropFraction));
    }

    [Fact]
    public async Task Train_and_eval_on_small_grayscale_idx_follow_the_data_and_say_so_unless_told_otherwise()
    {
        var set = IdxCliTests.Make(200, 3);
        string images = Path.Combine(Folder, "train-images-idx3-ubyte.gz");
        IdxCliTests.WriteGz(images, set.Images);
        IdxCliTests.WriteGz(Path.Combine(Folder, "train-labels-idx1-ubyte.gz"), set.Labels);
        int side = IdxCliTests.Side;

        var (code, stdout, err) = await CliRunner.Run("train", "--data", images, "--out", Path.Combine(Folder, "a"), "--max-steps", "2", "--max-minutes", "0",
            "--batch-size", "16", "--workers", "1", "--json");
        Assert.True(code == 0, err);
        Assert.Contains($"Defaults for {side}x{side} grayscale images (small", err);
        Assert.Contains($"Augment:Size {side} (the images' own size", err);
        Assert.Contains("Evaluation:CropFraction 1", err);
        string checkpoint = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement.GetProperty("checkpoint").GetString()!;
        Assert.Equal(side, CheckpointStore.Read(checkpoint).Info.ImageSize);

        // The view size given on the command line wins; the choices not given still follow the data.
        (code, stdout, err) = await CliRunner.Run("train", "--data", images, "--out", Path.Combine(Folder, "b"), "--image-size", "20", "--max-steps", "2",
            "--max-minutes", "0", "--batch-size", "16", "--workers", "1", "--json");
        Assert.True(code == 0, err);
        Assert.DoesNotContain("Augment:Size", err);
        Assert.Contains("Evaluation:CropFraction 1", err);
        Assert.Equal(20, CheckpointStore.Read(JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement.GetProperty("checkpoint").GetString()!).Info.ImageSize);

        (code, _, err) = await CliRunner.Run("eval", "--checkpoint", checkpoint, "--train-data", images, "--test-data", images, "--json");
        Assert.True(code == 0, err);
        Assert.Contains("Evaluation:CropFraction 1 (small images are evaluated whole)", err);
        (code, _, err) = await CliRunner.Run("eval", "--checkpoint", checkpoint, "--train-data", images, "--test-data", images, "--crop-fraction", "0.9", "--json");
        Assert.True(code == 0, err);
        Assert.DoesNotContain("Evaluation:CropFraction 1", err);
    }

    [Fact]
    public async Task Train_on_photo_sized_images_keeps_the_defaults()
    {
        string data = Path.Combine(Folder, "photos");
        var (code, _, err) = await CliRunner.Run("demo-data", "--output", data, "--count", "40", "--width", "400", "--height", "300");
        Assert.True(code == 0, err);
        string stdout;
        (code, stdout, err) = await CliRunner.Run("train", "--data", data, "--out", Path.Combine(Folder, "run"), "--max-steps", "1", "--max-minutes", "0",
            "--batch-size", "8", "--workers", "1", "--json");
        Assert.True(code == 0, err);
        Assert.Contains("Defaults for 400x300 images (photo-sized", err);
        Assert.Contains("none changed", err);
        string checkpoint = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement.GetProperty("checkpoint").GetString()!;
        Assert.Equal(new AugmentOptions().Size, CheckpointStore.Read(checkpoint).Info.ImageSize);
    }
}
