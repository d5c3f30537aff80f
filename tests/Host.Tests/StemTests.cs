namespace Contrastive.Host.Tests;

/// <summary>The ResNet stem follows the data (Training:Stem), says so at the start, and the retired key is refused.</summary>
public sealed class StemTests() : TempFolderTest("stem")
{
    private static readonly TimeSpan Minutes2 = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task The_start_line_names_the_stem_auto_chose_and_why()
    {
        string data = Path.Combine(Folder, "demo");
        var (code, _, err) = await CliRunner.Run("demo-data", "--output", data, "--count", "64");
        Assert.True(code == 0, err);
        // The demo images are 64–128 px: the data-driven size is their own, under 96 px, so auto takes the small stem.
        using var small = ContrastiveProcess.Start("train", "--data", data, "--out", Path.Combine(Folder, "a"), "--encoder", "resnet18",
            "--image-size", "32", "--batch-size", "4", "--max-steps", "1", "--workers", "1");
        Assert.True(await small.WaitForExit(Minutes2) == 0, small.Err);
        Assert.Contains("resnet18 (small-image stem (3×3 stride 1, no max-pool): --stem auto, views under 96 px) at 32px", small.Out + small.Err);
        using var imagenet = ContrastiveProcess.Start("train", "--data", data, "--out", Path.Combine(Folder, "b"), "--encoder", "resnet18",
            "--image-size", "32", "--stem", "imagenet", "--batch-size", "4", "--max-steps", "1", "--workers", "1");
        Assert.True(await imagenet.WaitForExit(Minutes2) == 0, imagenet.Err);
        Assert.Contains("resnet18 (ImageNet stem (7×7 stride 2, max-pool): --stem imagenet) at 32px", imagenet.Out + imagenet.Err);
    }

    [Fact]
    public async Task A_bad_stem_and_the_retired_small_images_key_are_one_line_errors()
    {
        var (code, _, err) = await CliRunner.Run("train", "--stem", "tiny", "--out", Path.Combine(Folder, "r"));
        Assert.Equal(Cli.Usage, code);
        Assert.Contains("--stem must be auto, imagenet or small (given: tiny) [Training:Stem]", err);

        using var old = ContrastiveProcess.Start(new Dictionary<string, string> { ["CONTRASTIVE_Training__SmallImages"] = "false" },
            "train", "--out", Path.Combine(Folder, "o"), "--max-steps", "1");
        Assert.Equal(Cli.Usage, await old.WaitForExit(Minutes2));
        Assert.Contains("CONTRASTIVE_Training__SmallImages is no longer a setting: use Training:Stem", old.Err);
    }
}
