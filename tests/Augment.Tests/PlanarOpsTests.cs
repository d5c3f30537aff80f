namespace Contrastive.Augment.Tests;

/// <summary>Layout conversions for the tests: float HWC (the reference ops' layout) to and from three planes.</summary>
internal static class Planar
{
    public static float[] FromHwc(float[] hwc, int width, int height)
    {
        int n = width * height;
        var p = new float[3 * n];
        for (int i = 0; i < n; i++)
            for (int c = 0; c < 3; c++) p[c * n + i] = hwc[i * 3 + c];
        return p;
    }

    public static float[] ToHwc(float[] planes, int width, int height)
    {
        int n = width * height;
        var hwc = new float[3 * n];
        for (int i = 0; i < n; i++)
            for (int c = 0; c < 3; c++) hwc[i * 3 + c] = planes[c * n + i];
        return hwc;
    }
}

/// <summary>
/// The SIMD planar operations the policies run against their scalar references (float HWC, themselves checked against
/// torchvision): random images whose sizes are not multiples of the vector width, so both the vector loops and the
/// remainder loops run, and edge values (0, 1, grays, ties between channels) for the hue's branches.
/// </summary>
public class PlanarOpsTests
{
    internal static float[] RandomImage(int width, int height, int seed)
    {
        var rng = new Random(seed);
        var x = new float[width * height * 3];
        for (int i = 0; i < x.Length; i++) x[i] = rng.Next(4) == 0 ? rng.Next(5) / 4f : rng.NextSingle();
        // Some grays and some pixels with two equal channels: hue's undefined and tie cases.
        for (int i = 0; i < width * height; i += 7) x[i * 3 + 1] = x[i * 3 + 2] = x[i * 3];
        for (int i = 3; i < width * height; i += 11) x[i * 3 + 1] = x[i * 3];
        return x;
    }

    private static void Near(float[] expected, float[] actual, float tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        float worst = 0;
        int at = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            float d = Math.Abs(expected[i] - actual[i]);
            if (d > worst) (worst, at) = (d, i);
        }
        Assert.True(worst <= tolerance, $"{what}: largest difference {worst} at {at} (tolerance {tolerance})");
    }

    public static TheoryData<int, int> Sizes() => new() { { 37, 23 }, { 64, 64 }, { 5, 3 }, { 224, 224 } };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Colour_ops_match_the_scalar_reference(int width, int height)
    {
        int n = width * height;
        var cases = new (string Name, Action<float[]> Reference, Action<float[]> Simd, float Tolerance)[]
        {
            ("brightness 1.7", x => ColorOps.Brightness(x, 1.7f), p => PlanarOps.Brightness(p, 1.7f), 0f),
            ("brightness 0.3", x => ColorOps.Brightness(x, 0.3f), p => PlanarOps.Brightness(p, 0.3f), 0f),
            // The mean is summed in another order: a few units in the last place.
            ("contrast 1.6", x => ColorOps.Contrast(x, 1.6f), p => PlanarOps.Contrast(p, n, 1.6f), 2e-6f),
            ("contrast 0.2", x => ColorOps.Contrast(x, 0.2f), p => PlanarOps.Contrast(p, n, 0.2f), 2e-6f),
            ("saturation 1.8", x => ColorOps.Saturation(x, 1.8f), p => PlanarOps.Saturation(p, n, 1.8f), 0f),
            ("saturation 0", x => ColorOps.Saturation(x, 0f), p => PlanarOps.Saturation(p, n, 0f), 0f),
            ("grayscale", x => ColorOps.Grayscale(x), p => PlanarOps.Grayscale(p, n), 0f),
            ("solarize 0.5", x => ColorOps.Solarize(x, 0.5f), p => PlanarOps.Solarize(p, 0.5f), 0f),
            ("flip", x => ColorOps.FlipHorizontal(x, width, height), p => PlanarOps.FlipHorizontal(p, width, height), 0f),
            // p, q and t from min and Δ instead of v(1 − s…) with s = Δ / v, and h / 6 as a product: a few units in the last place.
            ("hue 0.2", x => ColorOps.Hue(x, 0.2f), p => PlanarOps.Hue(p, n, 0.2f), 2e-6f),
            ("hue -0.37", x => ColorOps.Hue(x, -0.37f), p => PlanarOps.Hue(p, n, -0.37f), 2e-6f),
            ("hue 0.5", x => ColorOps.Hue(x, 0.5f), p => PlanarOps.Hue(p, n, 0.5f), 2e-6f),
            ("hue -0.5", x => ColorOps.Hue(x, -0.5f), p => PlanarOps.Hue(p, n, -0.5f), 2e-6f),
            ("hue 0", x => ColorOps.Hue(x, 0f), p => PlanarOps.Hue(p, n, 0f), 2e-6f),
        };
        int seed = 0;
        foreach (var (name, reference, simd, tolerance) in cases)
        {
            var x = RandomImage(width, height, seed++);
            var p = Planar.FromHwc(x, width, height);
            reference(x);
            simd(p);
            Near(x, Planar.ToHwc(p, width, height), tolerance, $"{name} at {width}x{height}");
        }
    }

    [Theory]
    [InlineData(37, 23, 5, 1.2)]
    [InlineData(37, 23, 23, 2.0)]
    [InlineData(64, 64, 7, 0.1)]
    [InlineData(224, 224, 23, 1.5)]
    [InlineData(9, 30, 3, 0.8)]
    public void Blur_matches_the_scalar_reference(int width, int height, int taps, double sigma)
    {
        var x = RandomImage(width, height, taps);
        var p = Planar.FromHwc(x, width, height);
        var kernel = new float[taps];
        GaussianBlur.Kernel(kernel, sigma);
        GaussianBlur.Apply(x, width, height, kernel, new float[x.Length]);
        PlanarOps.Blur(p, width, height, kernel, new float[p.Length], new PlanarOps.Scratch());
        // The same taps in the same order: equal up to the JIT's choice of fused multiply-adds.
        Near(x, Planar.ToHwc(p, width, height), 1e-6f, $"blur k{taps} σ{sigma} at {width}x{height}");
    }

    [Theory]
    [InlineData(97, 61, 0, 0, 97, 61, 224, 224)]   // upscale, whole image
    [InlineData(97, 61, 10, 5, 80, 50, 32, 32)]    // downscale 2.5x and 1.6x: antialiased
    [InlineData(97, 61, 3, 7, 61, 41, 61, 41)]     // 1:1
    [InlineData(400, 300, 13, 21, 350, 260, 224, 224)] // the benchmark's usual case
    [InlineData(97, 61, 96, 60, 1, 1, 7, 5)]       // a one-pixel crop
    [InlineData(33, 9, 0, 0, 33, 9, 3, 2)]         // strong downscale to a tiny output
    public void Resized_crop_matches_the_scalar_reference(int w, int h, int x0, int y0, int cw, int ch, int ow, int oh)
    {
        var rng = new Random(w * 31 + h);
        var src = new byte[w * h * 3];
        rng.NextBytes(src);
        var expected = new float[ow * oh * 3];
        Resample.CropResize(src, w, h, x0, y0, cw, ch, expected, ow, oh, new Resample.Scratch());
        var planes = new float[ow * oh * 3];
        PlanarOps.CropResize(src, w, h, x0, y0, cw, ch, planes, ow, oh, new PlanarOps.Scratch());
        // Vertical pass first instead of horizontal first: the sums differ in rounding only.
        Near(expected, Planar.ToHwc(planes, ow, oh), 2e-6f, $"crop ({x0},{y0},{cw}x{ch}) of {w}x{h} to {ow}x{oh}");
    }

    [Fact]
    public void Resized_crop_scratch_is_reused_across_sizes()
    {
        var scratch = new PlanarOps.Scratch();
        var src = new byte[50 * 40 * 3];
        new Random(3).NextBytes(src);
        foreach (var (cw, ow) in new[] { (50, 20), (10, 30), (49, 49), (7, 3) })
        {
            var expected = new float[ow * ow * 3];
            Resample.CropResize(src, 50, 40, 0, 0, cw, Math.Min(cw, 40), expected, ow, ow, new Resample.Scratch());
            var planes = new float[ow * ow * 3];
            PlanarOps.CropResize(src, 50, 40, 0, 0, cw, Math.Min(cw, 40), planes, ow, ow, scratch);
            Near(expected, Planar.ToHwc(planes, ow, ow), 2e-6f, $"crop width {cw} to {ow}");
        }
    }

    [Fact]
    public void Resized_crop_rejects_a_crop_outside_the_image()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() =>
            PlanarOps.CropResize(new byte[10 * 10 * 3], 10, 10, 5, 5, 6, 2, new float[12], 2, 2, new PlanarOps.Scratch()));
        Assert.Contains("outside the 10x10 image", ex.Message);
    }

    [Theory]
    [InlineData(3 * 5 * 3)]
    [InlineData(3 * 224 * 224)]
    [InlineData(3 * 37 * 23)]
    public void Bytes_round_exactly_as_the_reference(int length)
    {
        var rng = new Random(length);
        var planes = new float[length];
        for (int i = 0; i < length; i++)
        {
            planes[i] = (i % 9) switch
            {
                0 => -0.25f,                       // below range
                1 => 1.5f,                         // above range
                2 => (rng.Next(256) + 0.5f) / 255f, // exactly half way between two levels
                3 => rng.Next(256) / 255f,         // on a level
                _ => rng.NextSingle(),
            };
        }
        // The reference works on HWC: give it the planes as one "image" of 1 × length/3 pixels in either layout,
        // compare through the same plane order.
        int n = length / 3;
        var hwc = Planar.ToHwc(planes, n, 1);
        var expected = new byte[length];
        Layout.ToChwBytes(hwc, n, 1, expected);
        var actual = new byte[length];
        PlanarOps.ToBytes(planes, actual);
        Assert.Equal(expected, actual);
    }
}
