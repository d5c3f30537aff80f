using Contrastive.Core;

namespace Contrastive.Augment.Tests;

/// <summary>
/// The passes a view is made in (<see cref="ViewPass"/>, the mirrored crop, the shortened blur kernel) against plain scalar
/// references (<see cref="ColorOps"/>, <see cref="GaussianBlur"/>, <see cref="Layout"/>: max difference 1 on 0–255), against
/// the chain of <see cref="PlanarOps"/> calls they replace, and the whole view against the float path the policy ran before
/// them (one pass per operation, torchvision's whole 23-tap kernel): mean absolute difference at most 1.5 grey levels on the
/// same draws (in fact far below). Odd sizes, so the vector loops' remainders run too.
/// </summary>
public class ViewPassTests
{
    private static int MaxDifference(byte[] a, byte[] b, out int at)
    {
        Assert.Equal(a.Length, b.Length);
        int worst = 0;
        at = -1;
        for (int i = 0; i < a.Length; i++)
        {
            int d = Math.Abs(a[i] - b[i]);
            if (d > worst) (worst, at) = (d, i);
        }
        return worst;
    }

    public static TheoryData<int, int> Sizes() => new() { { 37, 23 }, { 5, 3 }, { 64, 64 }, { 224, 224 }, { 33, 1 } };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Each_colour_step_alone_matches_its_scalar_reference_within_one_level(int width, int height)
    {
        int n = width * height;
        var cases = new (ColourStep? Step, bool Gray, float Solarize, Action<float[]> Reference)[]
        {
            (new(ColourOp.Brightness, 1.7f), false, float.NaN, x => ColorOps.Brightness(x, 1.7f)),
            (new(ColourOp.Brightness, 0.2f), false, float.NaN, x => ColorOps.Brightness(x, 0.2f)),
            (new(ColourOp.Contrast, 1.8f), false, float.NaN, x => ColorOps.Contrast(x, 1.8f)),
            (new(ColourOp.Contrast, 0.3f), false, float.NaN, x => ColorOps.Contrast(x, 0.3f)),
            (new(ColourOp.Saturation, 1.8f), false, float.NaN, x => ColorOps.Saturation(x, 1.8f)),
            (new(ColourOp.Saturation, 0f), false, float.NaN, x => ColorOps.Saturation(x, 0f)),
            (new(ColourOp.Hue, 0.2f), false, float.NaN, x => ColorOps.Hue(x, 0.2f)),
            (new(ColourOp.Hue, -0.5f), false, float.NaN, x => ColorOps.Hue(x, -0.5f)),
            (new(ColourOp.Hue, 0.5f), false, float.NaN, x => ColorOps.Hue(x, 0.5f)),
            (null, true, float.NaN, x => ColorOps.Grayscale(x)),
            (null, false, 0.5f, x => ColorOps.Solarize(x, 0.5f)),
            (null, false, float.NaN, _ => { }),
        };
        int seed = 0;
        foreach (var (step, gray, solarize, reference) in cases)
        {
            var hwc = PlanarOpsTests.RandomImage(width, height, seed++);
            var planes = Planar.FromHwc(hwc, width, height);
            reference(hwc);
            var expected = new byte[3 * n];
            Layout.ToChwBytes(hwc, width, height, expected);
            var actual = new byte[3 * n];
            ColourStep[] steps = step is { } s ? [s] : [];
            ViewPass.Colour(planes, n, steps, gray, solarize, actual);
            int worst = MaxDifference(expected, actual, out int at);
            Assert.True(worst <= 1, $"{step?.ToString() ?? (gray ? "grayscale" : "solarize/rounding")} at {width}x{height}: {worst} levels apart at {at}");
        }
    }

    public static TheoryData<int, string, bool, bool> Chains() => new()
    {
        { 37 * 23, "BCSH", false, false },
        { 37 * 23, "CHSB", true, false },
        { 224 * 224, "HSBC", false, true },
        { 224 * 224, "SCHB", true, true },
        { 5, "HC", false, false },
        { 64 * 64, "", true, true },
        { 1031, "C", false, true }, // contrast alone, over a chunk's length
        { 2 * 1024 + 9, "BHSC", true, false },
    };

    [Theory]
    [MemberData(nameof(Chains))]
    public void The_colour_pass_equals_the_chain_of_planar_operations(int pixels, string order, bool grayscale, bool solarize)
    {
        var steps = order.Select((c, i) => c switch
        {
            'B' => new ColourStep(ColourOp.Brightness, 1.3f - 0.1f * i),
            'C' => new ColourStep(ColourOp.Contrast, 0.6f + 0.3f * i),
            'S' => new ColourStep(ColourOp.Saturation, 1.5f - 0.2f * i),
            _ => new ColourStep(ColourOp.Hue, 0.17f - 0.1f * i),
        }).ToArray();
        float threshold = solarize ? 0.5f : float.NaN;
        var hwc = PlanarOpsTests.RandomImage(pixels, 1, pixels);
        var reference = Planar.FromHwc(hwc, pixels, 1);
        var planes = (float[])reference.Clone();
        var floats = (float[])reference.Clone();
        foreach (var step in steps)
        {
            switch (step.Op)
            {
                case ColourOp.Brightness: PlanarOps.Brightness(reference, step.Factor); break;
                case ColourOp.Contrast: PlanarOps.Contrast(reference, pixels, step.Factor); break;
                case ColourOp.Saturation: PlanarOps.Saturation(reference, pixels, step.Factor); break;
                default: PlanarOps.Hue(reference, pixels, step.Factor); break;
            }
        }
        if (grayscale) PlanarOps.Grayscale(reference, pixels);
        if (solarize) PlanarOps.Solarize(reference, threshold);
        var expected = new byte[3 * pixels];
        PlanarOps.ToBytes(reference, expected);

        var actual = new byte[3 * pixels];
        ViewPass.Colour(planes, pixels, steps, grayscale, threshold, actual);
        Assert.True(MaxDifference(expected, actual, out int at) <= 1, $"{order} at {pixels} pixels: apart at {at}");

        // The floats left for a blur: the same values (contrast's mean summed in another order: a few units in the last place).
        ViewPass.Colour(floats, pixels, steps, grayscale, threshold, []);
        float worst = 0;
        for (int i = 0; i < floats.Length; i++) worst = Math.Max(worst, Math.Abs(floats[i] - reference[i]));
        Assert.True(worst <= 2e-6f, $"{order} floats at {pixels} pixels: {worst} apart");
    }

    [Fact]
    public void The_colour_pass_refuses_two_contrast_steps()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            ViewPass.Colour(new float[12], 4, [new(ColourOp.Contrast, 1.1f), new(ColourOp.Contrast, 0.9f)], false, float.NaN, new byte[12]));
        Assert.Contains("one contrast", ex.Message);
    }

    [Theory]
    [InlineData(97, 61, 10, 5, 80, 50, 224, 224)]
    [InlineData(400, 300, 13, 21, 350, 260, 224, 224)]
    [InlineData(97, 61, 3, 7, 61, 41, 61, 41)]
    [InlineData(33, 9, 0, 0, 33, 9, 3, 2)]
    [InlineData(50, 40, 5, 5, 9, 9, 13, 7)]
    public void A_flipped_crop_is_the_mirror_of_the_crop(int w, int h, int x0, int y0, int cw, int ch, int ow, int oh)
    {
        var src = new byte[w * h * 3];
        new Random(w + h).NextBytes(src);
        var scratch = new PlanarOps.Scratch();
        var plain = new float[ow * oh * 3];
        PlanarOps.CropResize(src, w, h, x0, y0, cw, ch, plain, ow, oh, scratch);
        PlanarOps.FlipHorizontal(plain, ow, oh);
        var flipped = new float[ow * oh * 3];
        PlanarOps.CropResize(src, w, h, x0, y0, cw, ch, flipped, ow, oh, scratch, flip: true);
        Assert.Equal(plain, flipped);
        // And the unflipped crop after a flipped one with the same scratch is the plain one again.
        var again = new float[ow * oh * 3];
        PlanarOps.CropResize(src, w, h, x0, y0, cw, ch, again, ow, oh, scratch);
        PlanarOps.FlipHorizontal(again, ow, oh);
        Assert.Equal(plain, again);
    }

    [Theory]
    [InlineData(400, 300, 13, 21, 350, 260, 224, 224, false, true)] // 1.56x: the AVX-512 path where the CPU has it
    [InlineData(400, 300, 13, 21, 350, 260, 224, 224, true, true)]
    [InlineData(400, 300, 0, 0, 400, 300, 224, 224, false, true)]   // 1.79x: blocks just fit the window
    [InlineData(97, 61, 0, 0, 97, 61, 224, 224, true, true)]        // upscale
    [InlineData(97, 61, 3, 7, 61, 41, 61, 41, false, true)]         // 1:1, three whole blocks and a tail of 13 columns
    [InlineData(1000, 40, 0, 0, 1000, 40, 224, 37, false, false)]   // 4.5x: too wide for the window, the other path
    [InlineData(64, 64, 5, 5, 20, 20, 17, 16, true, true)]          // one block and one column
    [InlineData(64, 64, 5, 5, 40, 40, 17, 16, true, false)]         // 2.35x: the other path
    [InlineData(50, 40, 5, 5, 9, 9, 13, 7, false, false)]           // narrower than a block
    public void Both_resize_paths_give_the_same_bits(int w, int h, int x0, int y0, int cw, int ch, int ow, int oh, bool flip, bool planar)
    {
        int before = PlanarOps.PlanarCrops;
        var src = new byte[w * h * 3];
        new Random(w * 7 + h).NextBytes(src);
        var scratch = new PlanarOps.Scratch();
        var simd = new float[ow * oh * 3];
        PlanarOps.CropResize(src, w, h, x0, y0, cw, ch, simd, ow, oh, scratch, flip);
        // The path the crop took: the AVX-512 one wherever the CPU has it and the blocks fit.
        Assert.Equal(planar && PlanarOps.PlanarResizeSupported ? before + 1 : before, PlanarOps.PlanarCrops);
        var interleaved = new float[ow * oh * 3];
        PlanarOps.InterleavedOnly = true;
        try
        {
            PlanarOps.CropResize(src, w, h, x0, y0, cw, ch, interleaved, ow, oh, scratch, flip);
        }
        finally
        {
            PlanarOps.InterleavedOnly = false;
        }
        Assert.Equal(planar && PlanarOps.PlanarResizeSupported ? before + 1 : before, PlanarOps.PlanarCrops);
        Assert.Equal(interleaved, simd);
        // And both against the scalar reference (horizontal pass first: rounding differences only).
        var expected = new float[ow * oh * 3];
        Resample.CropResize(src, w, h, x0, y0, cw, ch, expected, ow, oh, new Resample.Scratch());
        if (flip) ColorOps.FlipHorizontal(expected, ow, oh);
        var hwc = Planar.ToHwc(simd, ow, oh);
        for (int i = 0; i < hwc.Length; i++) Assert.True(Math.Abs(hwc[i] - expected[i]) <= 2e-6f, $"value {i}: {hwc[i]} against {expected[i]}");
    }

    [Theory]
    [InlineData(0.1, 23, 0)]
    [InlineData(0.2, 23, 0)]
    [InlineData(0.5, 23, 5)]
    [InlineData(1.0, 23, 9)]
    [InlineData(2.0, 23, 17)]
    [InlineData(0.25, 23, 3)]
    [InlineData(2.0, 3, 3)]
    [InlineData(10.0, 23, 23)]
    public void The_blur_keeps_every_tap_that_matters(double sigma, int size, int expectedTaps)
    {
        var kernel = new float[size];
        GaussianBlur.Kernel(kernel, sigma);
        var kept = GaussianBlur.Significant(kernel);
        Assert.Equal(expectedTaps, kept.Length);
        double dropped = kernel.Sum(k => (double)k) - (kept.IsEmpty ? 0 : kept.ToArray().Sum(k => (double)k));
        if (kept.IsEmpty) dropped = 1 - kernel[size / 2];
        Assert.True(dropped <= GaussianBlur.NegligibleMass + 1e-7, $"σ {sigma}: {dropped} of the mass dropped");
    }

    [Theory]
    [InlineData(37, 23, 1.2, false)]
    [InlineData(224, 224, 2.0, true)]
    [InlineData(224, 224, 0.6, false)]
    [InlineData(9, 30, 0.8, true)]
    public void The_blur_into_bytes_matches_the_whole_kernel_scalar_blur_within_one_level(int width, int height, double sigma, bool solarize)
    {
        int size = GaussianBlur.KernelSizeFor(224);
        var hwc = PlanarOpsTests.RandomImage(width, height, width * height);
        var planes = Planar.FromHwc(hwc, width, height);
        var kernel = new float[size];
        GaussianBlur.Kernel(kernel, sigma);
        GaussianBlur.Apply(hwc, width, height, kernel, new float[hwc.Length]);
        if (solarize) ColorOps.Solarize(hwc, 0.5f);
        var expected = new byte[hwc.Length];
        Layout.ToChwBytes(hwc, width, height, expected);

        var actual = new byte[hwc.Length];
        ViewPass.BlurToBytes(planes, width, height, GaussianBlur.Significant(kernel), new PlanarOps.Scratch(),
            solarize ? 0.5f : float.NaN, actual);
        int worst = MaxDifference(expected, actual, out int at);
        Assert.True(worst <= 1, $"σ {sigma} at {width}x{height}: {worst} levels apart at {at}");
    }

    /// <summary>
    /// A smooth photo-like image with edges and noise: the views of random bytes would be all noise, hiding what the crop,
    /// the colour steps and the blur do.
    /// </summary>
    private static PixelBuffer Photo(int width, int height, int seed)
    {
        var rng = new Random(seed);
        var image = new PixelBuffer();
        image.Resize(width, height);
        var px = image.Pixels;
        double fx = rng.NextDouble() * 0.05 + 0.01, fy = rng.NextDouble() * 0.05 + 0.01;
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int i = (y * width + x) * 3;
                bool inside = Math.Abs(x - width / 2) < width / 5 && Math.Abs(y - height / 3) < height / 4;
                px[i] = (byte)Math.Clamp(128 + 100 * Math.Sin(x * fx) + rng.Next(-12, 13), 0, 255);
                px[i + 1] = (byte)Math.Clamp(inside ? 220 : 60 + y * 150 / height + rng.Next(-12, 13), 0, 255);
                px[i + 2] = (byte)Math.Clamp(128 + 100 * Math.Cos(y * fy + x * 0.01) + rng.Next(-12, 13), 0, 255);
            }
        }
        return image;
    }

    public static TheoryData<int, int, int, bool> Views() => new()
    {
        { 400, 300, 224, false },
        { 97, 61, 224, false },
        { 131, 77, 32, false },
        { 400, 300, 224, true }, // BYOL: always-blurred and solarized views
    };

    [Theory]
    [MemberData(nameof(Views))]
    public void Views_match_the_float_path_on_the_same_draws(int width, int height, int size, bool asymmetric)
    {
        var options = new AugmentOptions { Size = size, ScaleMin = 0.08, JitterStrength = 1.0, Asymmetric = asymmetric };
        var policy = new SimClrViewPolicy(options);
        var ws = new ViewWorkspace();
        var view = new byte[3 * size * size];
        var reference = new byte[3 * size * size];
        long sum = 0, count = 0;
        int worst = 0;
        for (int sample = 0; sample < 24; sample++)
        {
            var image = Photo(width, height, sample);
            for (int v = 0; v < 2; v++)
            {
                policy.WriteView(image, v, 11, 2, sample, view, ws);
                var (blur, solarize) = asymmetric ? SimClrViewPolicy.ByolPair(v, true) : (options.BlurProbability, 0.0);
                var rng = new SampleRandom(11, 2, sample, v);
                FloatPath(image, options, size, blur, solarize, ref rng, reference);
                for (int i = 0; i < view.Length; i++)
                {
                    int d = Math.Abs(view[i] - reference[i]);
                    sum += d;
                    worst = Math.Max(worst, d);
                }
                count += view.Length;
            }
        }
        double mean = (double)sum / count;
        Assert.True(mean <= 1.5, $"mean absolute difference {mean:F4} grey levels");
        // In fact: equal floats but for the dropped blur taps (≤ 0.026 levels) and last-bit differences, so at most one
        // level where a value sits at a rounding boundary.
        Assert.True(worst <= 1, $"largest difference {worst} levels (mean {mean:F4})");
        Assert.True(mean < 0.05, $"mean absolute difference {mean:F4} grey levels");
    }

    /// <summary>
    /// The policy's views as the float path made them before the fused passes (one pass per operation, torchvision's whole
    /// blur kernel), here with the plain scalar references on float HWC (themselves checked against torchvision), from the
    /// same draws (<see cref="ViewDraw"/>).
    /// </summary>
    private static void FloatPath(PixelBuffer image, AugmentOptions o, int size, double blurProbability, double solarizeProbability,
        ref SampleRandom rng, Span<byte> chw)
    {
        var work = new float[3 * size * size];
        var draw = ViewDraw.Draw(image.SourceWidth, image.SourceHeight, o, o.ScaleMin, o.ScaleMax, blurProbability, solarizeProbability, ref rng);
        var crop = image.ToPixels(draw.Crop);
        Resample.CropResize(image.Pixels, image.Width, image.Height, crop.X, crop.Y, crop.Width, crop.Height, work, size, size, new Resample.Scratch());
        if (draw.Flip) ColorOps.FlipHorizontal(work, size, size);
        for (int i = 0; i < draw.StepCount; i++)
        {
            var step = draw.Steps[i];
            switch (step.Op)
            {
                case ColourOp.Brightness: ColorOps.Brightness(work, step.Factor); break;
                case ColourOp.Contrast: ColorOps.Contrast(work, step.Factor); break;
                case ColourOp.Saturation: ColorOps.Saturation(work, step.Factor); break;
                default: ColorOps.Hue(work, step.Factor); break;
            }
        }
        if (draw.Grayscale) ColorOps.Grayscale(work);
        if (!double.IsNaN(draw.BlurSigma))
        {
            var kernel = new float[GaussianBlur.KernelSizeFor(size)];
            GaussianBlur.Kernel(kernel, draw.BlurSigma);
            GaussianBlur.Apply(work, size, size, kernel, new float[work.Length]);
        }
        if (draw.Solarize) ColorOps.Solarize(work, 0.5f);
        Layout.ToChwBytes(work, size, size, chw);
    }
}
