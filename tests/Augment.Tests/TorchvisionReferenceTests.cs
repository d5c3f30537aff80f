using System.Text.Json;

namespace Contrastive.Augment.Tests;

/// <summary>
/// Our operations against torchvision 0.14's functional ops on the same image: Fixtures/torchvision-ops.json, written by
/// tests/tools/torchvision_reference.py (Debian's python3-torchvision; re-run it to regenerate).
/// </summary>
public class TorchvisionReferenceTests
{
    private static readonly JsonElement Ref = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "torchvision-ops.json"))).RootElement;
    private static readonly int W = Ref.GetProperty("width").GetInt32(), H = Ref.GetProperty("height").GetInt32();

    private static float[] Values(string name) => Ref.GetProperty(name).EnumerateArray().Select(v => v.GetSingle()).ToArray();

    private static byte[] Input() => Ref.GetProperty("input").EnumerateArray().Select(v => (byte)v.GetInt32()).ToArray();

    private static float[] InputFloats() => Input().Select(b => b / 255f).ToArray();

    private static void Near(float[] expected, float[] actual, float tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        float worst = 0;
        for (int i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        Assert.True(worst <= tolerance, $"{what}: largest difference from torchvision {worst} (tolerance {tolerance})");
    }

    [Theory]
    [InlineData("brightness_1.3")]
    [InlineData("contrast_0.6")]
    [InlineData("saturation_1.7")]
    [InlineData("hue_0.15")]
    [InlineData("hue_-0.4")]
    [InlineData("grayscale")]
    [InlineData("solarize_0.5")]
    [InlineData("hflip")]
    [InlineData("blur_k5_s1.2")]
    public void Colour_flip_and_blur_ops_match_torchvision(string op)
    {
        var x = InputFloats();
        switch (op)
        {
            case "brightness_1.3": ColorOps.Brightness(x, 1.3f); break;
            case "contrast_0.6": ColorOps.Contrast(x, 0.6f); break;
            case "saturation_1.7": ColorOps.Saturation(x, 1.7f); break;
            case "hue_0.15": ColorOps.Hue(x, 0.15f); break;
            case "hue_-0.4": ColorOps.Hue(x, -0.4f); break;
            case "grayscale": ColorOps.Grayscale(x); break;
            case "solarize_0.5": ColorOps.Solarize(x, 0.5f); break;
            case "hflip": ColorOps.FlipHorizontal(x, W, H); break;
            default:
                var kernel = new float[5];
                GaussianBlur.Kernel(kernel, 1.2);
                GaussianBlur.Apply(x, W, H, kernel, new float[x.Length]);
                break;
        }
        // Within 1.5e-4 (a 26th of one level in 255): torchvision's tensor grayscale weighs red 0.2989 where ITU-R 601-2 and
        // Pillow, as ours, use 0.299; grayscale, contrast and saturation differ by that, the other ops by float rounding.
        Near(Values(op), x, 1.5e-4f, op);
    }

    [Theory]
    [InlineData("crop_up_9x6", 2, 1, 5, 4, 9, 6)]
    [InlineData("crop_down_2x3", 0, 0, 7, 5, 3, 2)]
    public void Resized_crops_match_torchvision_to_one_level_in_255(string name, int x0, int y0, int w, int h, int outW, int outH)
    {
        var dst = new float[outW * outH * 3];
        Resample.CropResize(Input(), W, H, x0, y0, w, h, dst, outW, outH, new Resample.Scratch());
        // torchvision resizes the uint8 tensor and rounds; ours keeps floats until the batch is written.
        Near(Values(name), dst.Select(v => MathF.Round(Math.Clamp(v, 0, 1) * 255) / 255).ToArray(), 1.01f / 255, name);
    }
}
