using SkiaSharp;

namespace Contrastive.Augment.Tests;

public class OperationsTests
{
    private static PixelBuffer Gradient(int w, int h)
    {
        var p = new PixelBuffer();
        p.Resize(w, h);
        var px = p.Pixels;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int i = (y * w + x) * 3;
                px[i] = (byte)(x * 255 / Math.Max(1, w - 1));
                px[i + 1] = (byte)(y * 255 / Math.Max(1, h - 1));
                px[i + 2] = (byte)((x + y) % 256);
            }
        return p;
    }

    [Fact]
    public void Resize_to_the_same_size_is_the_identity()
    {
        var img = Gradient(17, 11);
        var dst = new float[17 * 11 * 3];
        Resample.CropResize(img.Pixels, 17, 11, 0, 0, 17, 11, dst, 17, 11, new Resample.Scratch());
        for (int i = 0; i < dst.Length; i++) Assert.Equal(img.Pixels[i] / 255f, dst[i], 5);
    }

    [Fact]
    public void Downscaling_a_constant_image_keeps_it_constant_and_2x_averages_pairs()
    {
        var p = new PixelBuffer();
        p.Resize(40, 40);
        p.Pixels.Fill(200);
        var dst = new float[8 * 8 * 3];
        Resample.CropResize(p.Pixels, 40, 40, 0, 0, 40, 40, dst, 8, 8, new Resample.Scratch());
        Assert.All(dst, v => Assert.Equal(200 / 255f, v, 5));

        // 2x downscale with the antialiased triangle filter: weights 1/8, 3/8, 3/8, 1/8 over four pixels.
        var row = new PixelBuffer();
        row.Resize(8, 1);
        byte[] values = [0, 80, 160, 240, 0, 80, 160, 240];
        for (int x = 0; x < 8; x++) row.Pixels[x * 3] = row.Pixels[x * 3 + 1] = row.Pixels[x * 3 + 2] = values[x];
        var out4 = new float[4 * 3];
        Resample.CropResize(row.Pixels, 8, 1, 0, 0, 8, 1, out4, 4, 1, new Resample.Scratch());
        // Output pixel 1 covers input 1..4 with weights 1/8, 3/8, 3/8, 1/8.
        Assert.Equal((80 * 1 + 160 * 3 + 240 * 3 + 0 * 1) / 8f / 255f, out4[3], 4);
    }

    [Fact]
    public void Random_resized_crop_follows_torchvision_bounds_and_fallback()
    {
        for (int i = 0; i < 500; i++)
        {
            var rng = new SampleRandom(1, 0, i, 0);
            var c = CropParameters.RandomResized(100, 60, 0.08, 1.0, 3.0 / 4, 4.0 / 3, ref rng);
            Assert.InRange(c.X, 0, 99);
            Assert.InRange(c.Y, 0, 59);
            Assert.True(c.X + c.Width <= 100 && c.Y + c.Height <= 60);
            Assert.True(c.Width >= 1 && c.Height >= 1);
        }
        // A scale range no attempt can satisfy (area above the image) falls back to the centre crop clamped to the ratio.
        var r = new SampleRandom(1, 0, 0, 0);
        var fallback = CropParameters.RandomResized(300, 100, 5.0, 6.0, 3.0 / 4, 4.0 / 3, ref r);
        Assert.Equal(new CropRect((300 - 133) / 2, 0, 133, 100), fallback);
    }

    [Fact]
    public void Flip_twice_is_identity_and_flip_mirrors()
    {
        float[] img = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        var copy = (float[])img.Clone();
        ColorOps.FlipHorizontal(img, 3, 1);
        Assert.Equal([7f, 8, 9, 4, 5, 6, 1, 2, 3], img);
        ColorOps.FlipHorizontal(img, 3, 1);
        Assert.Equal(copy, img);
    }

    [Fact]
    public void Color_ops_match_torchvision_formulas()
    {
        float[] px = [0.2f, 0.4f, 0.6f, 1.0f, 0.5f, 0.0f];
        var g = (float[])px.Clone();
        ColorOps.Grayscale(g);
        Assert.Equal(0.299f * 0.2f + 0.587f * 0.4f + 0.114f * 0.6f, g[0], 6);
        Assert.Equal(g[0], g[2]);

        var b = (float[])px.Clone();
        ColorOps.Brightness(b, 1.5f);
        Assert.Equal([0.3f, 0.6f, 0.9f, 1.0f, 0.75f, 0.0f], b.Select(v => MathF.Round(v, 5)).ToArray());

        var c = (float[])px.Clone();
        ColorOps.Contrast(c, 0f); // factor 0: every channel becomes the mean gray
        float mean = (0.299f * 0.2f + 0.587f * 0.4f + 0.114f * 0.6f + 0.299f * 1.0f + 0.587f * 0.5f) / 2;
        Assert.All(c, v => Assert.Equal(mean, v, 5));

        var s = (float[])px.Clone();
        ColorOps.Saturation(s, 0f);
        Assert.Equal(g.Select(v => MathF.Round(v, 5)), s.Select(v => MathF.Round(v, 5)));

        float[] red = [1f, 0f, 0f];
        ColorOps.Hue(red, 1f / 3f); // +120 degrees: red -> green
        Assert.Equal(0f, red[0], 5);
        Assert.Equal(1f, red[1], 5);
        Assert.Equal(0f, red[2], 5);

        float[] h = [0.2f, 0.4f, 0.6f];
        ColorOps.Hue(h, 0.5f);
        ColorOps.Hue(h, 0.5f); // a full turn
        Assert.Equal(0.2f, h[0], 4); Assert.Equal(0.4f, h[1], 4); Assert.Equal(0.6f, h[2], 4);
    }

    [Fact]
    public void Gaussian_kernel_matches_torchvision_and_blur_preserves_constant_images()
    {
        var k = new float[3];
        GaussianBlur.Kernel(k, 1.0);
        double e = Math.Exp(-0.5);
        Assert.Equal(e / (1 + 2 * e), k[0], 5);
        Assert.Equal(1 / (1 + 2 * e), k[1], 5);
        Assert.Equal(3, GaussianBlur.KernelSizeFor(32));
        Assert.Equal(23, GaussianBlur.KernelSizeFor(224));

        var img = Enumerable.Repeat(0.5f, 5 * 4 * 3).ToArray();
        GaussianBlur.Apply(img, 5, 4, k, new float[img.Length]);
        Assert.All(img, v => Assert.Equal(0.5f, v, 5));
        Assert.Equal([1, 0, 1, 2, 3, 2], new[] { -1, 0, 1, 2, 3, 4 }.Select(i => GaussianBlur.Reflect(i, 4)));
    }

    [Fact]
    public void Views_are_a_pure_function_of_seed_epoch_index_and_view()
    {
        var img = Gradient(90, 70);
        var policy = new SimClrViewPolicy(new AugmentOptions { Size = 32 });
        byte[] View(long seed, int epoch, long index, int view, ViewWorkspace ws)
        {
            var b = new byte[3 * 32 * 32];
            policy.WriteView(img, view, seed, epoch, index, b, ws);
            return b;
        }
        var ws1 = new ViewWorkspace();
        var ws2 = new ViewWorkspace();
        var a = View(1, 0, 5, 0, ws1);
        View(9, 3, 77, 1, ws1); // dirty the workspace
        Assert.Equal(a, View(1, 0, 5, 0, ws2));
        Assert.Equal(a, View(1, 0, 5, 0, ws1));
        Assert.NotEqual(a, View(1, 0, 5, 1, ws1));
        Assert.NotEqual(a, View(1, 1, 5, 0, ws1));
        Assert.NotEqual(a, View(2, 0, 5, 0, ws1));
    }

    [Fact]
    public void Eval_transform_is_deterministic_center_crop()
    {
        var img = Gradient(64, 48);
        var t = new EvalTransform(16);
        var a = new byte[3 * 16 * 16];
        var b = new byte[3 * 16 * 16];
        t.WriteView(img, 0, 1, 0, 0, a, new ViewWorkspace());
        t.WriteView(img, 0, 2, 5, 9, b, new ViewWorkspace());
        Assert.Equal(a, b);
        Assert.Equal(new CropRect(11, 3, 42, 42), CropParameters.Center(64, 48, 0.875));
    }
}

public class DecoderTests
{
    internal static byte[] Jpeg(int w, int h, SKColor color, SKEncodedImageFormat format = SKEncodedImageFormat.Jpeg)
    {
        using var bmp = new SKBitmap(w, h);
        using (var c = new SKCanvas(bmp)) c.Clear(color);
        using var img = SKImage.FromBitmap(bmp);
        using var data = img.Encode(format, 95);
        return data.ToArray();
    }

    [Fact]
    public void Decodes_jpeg_and_png_to_rgb()
    {
        var d = new SkiaImageDecoder();
        var p = new PixelBuffer();
        d.Decode(Jpeg(40, 30, new SKColor(200, 30, 90)), p);
        Assert.Equal((40, 30), (p.Width, p.Height));
        Assert.InRange(p.Pixels[0], 190, 210);
        Assert.InRange(p.Pixels[1], 20, 40);
        Assert.InRange(p.Pixels[2], 80, 100);

        d.Decode(Jpeg(5, 7, new SKColor(10, 250, 10, 128), SKEncodedImageFormat.Png), p);
        Assert.Equal((5, 7), (p.Width, p.Height));
        Assert.InRange(p.Pixels[1], 245, 255); // alpha is dropped; unpremultiplying may round by one
    }

    [Fact]
    public void Bad_input_is_a_typed_error_not_a_crash()
    {
        var d = new SkiaImageDecoder(maxPixels: 1000);
        var p = new PixelBuffer();
        Assert.Throws<ImageDecodeException>(() => d.Decode([], p));
        Assert.Throws<ImageDecodeException>(() => d.Decode([1, 2, 3, 4, 5], p));
        var big = Jpeg(50, 50, SKColors.Red);
        Assert.Contains("above the limit", Assert.Throws<ImageDecodeException>(() => d.Decode(big, p)).Message);
        var truncated = Jpeg(30, 30, SKColors.Blue)[..200];
        Assert.Throws<ImageDecodeException>(() => new SkiaImageDecoder().Decode(truncated, p));
    }
}
