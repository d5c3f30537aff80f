namespace Contrastive.Augment.Tests;

public class AsymmetricViewTests
{
    private static PixelBuffer Checkerboard()
    {
        var p = new PixelBuffer();
        p.Resize(32, 32);
        var px = p.Pixels;
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 32; x++)
                px[(y * 32 + x) * 3] = px[(y * 32 + x) * 3 + 1] = px[(y * 32 + x) * 3 + 2] = (byte)(((x / 2 + y / 2) % 2) == 0 ? 40 : 220);
        return p;
    }

    // Whole-image crops, no flip, jitter or grayscale: a view is the image itself unless blurred or solarized.
    private static AugmentOptions Options(bool asymmetric, double blur) => new()
    {
        Size = 32, ScaleMin = 1, ScaleMax = 1, RatioMin = 1, RatioMax = 1, FlipProbability = 0, JitterProbability = 0,
        GrayscaleProbability = 0, BlurProbability = blur, BlurSigmaMin = 1, BlurSigmaMax = 2, Asymmetric = asymmetric,
    };

    private static (int Sharp, int Blurred, int Solarized) Count(AugmentOptions options, int view, int samples)
    {
        var image = Checkerboard();
        var policy = new SimClrViewPolicy(options);
        var ws = new ViewWorkspace();
        var chw = new byte[3 * 32 * 32];
        int sharp = 0, blurred = 0, solarized = 0;
        for (int i = 0; i < samples; i++)
        {
            policy.WriteView(image, view, 7, 0, i, chw, ws);
            bool onlyTwoValues = chw.All(v => v is 40 or 220 or 35); // 220 solarized is 255 − 220 = 35
            if (chw.Max() < 128) solarized++;           // every bright square inverted
            if (onlyTwoValues && chw.Max() >= 128) sharp++;
            else if (!onlyTwoValues) blurred++;
        }
        return (sharp, blurred, solarized);
    }

    [Fact]
    public void Byol_pairs_blur_view_0_always_and_view_1_rarely_and_solarize_only_view_1()
    {
        var (sharp0, blurred0, solarized0) = Count(Options(asymmetric: true, blur: 0.5), 0, 60);
        Assert.Equal((0, 60, 0), (sharp0, blurred0, solarized0));

        var (sharp1, blurred1, solarized1) = Count(Options(asymmetric: true, blur: 0.5), 1, 400);
        Assert.InRange(blurred1, 20, 65);     // p 0.1 of 400 (the BlurProbability of 0.5 is not used)
        Assert.InRange(solarized1, 55, 105);  // p 0.2 of 400
        Assert.InRange(sharp1, 250, 340);

        var (sharpS, blurredS, solarizedS) = Count(Options(asymmetric: false, blur: 0), 1, 60);
        Assert.Equal((60, 0, 0), (sharpS, blurredS, solarizedS));
    }

    [Fact]
    public void A_blur_probability_of_0_turns_the_byol_pairs_blur_off_and_keeps_its_solarization()
    {
        // Small images get BlurProbability 0 by default (lightly's CIFAR-10 recipes blur neither BYOL's nor DINO's views).
        Assert.Equal((60, 0, 0), Count(Options(asymmetric: true, blur: 0), 0, 60));
        var (sharp1, blurred1, solarized1) = Count(Options(asymmetric: true, blur: 0), 1, 400);
        Assert.Equal(0, blurred1);
        Assert.InRange(solarized1, 55, 105); // p 0.2 of 400
        Assert.Equal(400, sharp1 + solarized1);
    }
}
