namespace Contrastive.Augment.Tests;

/// <summary>
/// Decoding less: policies ask for the smallest decoded size at which every view's crop is still at least the view's
/// size; TurboJPEG decodes at that DCT scale; crops drawn on the stored size map into the reduced pixels.
/// </summary>
public class DecodeScalingTests
{
    private sealed class Sizing(IViewPolicy policy, long index) : IDecodeSizing
    {
        public (int MinWidth, int MinHeight) MinimumSize(int width, int height) => policy.DecodeSize(width, height, 7, 0, index);
    }

    [Fact]
    public void Crops_on_the_stored_size_map_into_reduced_pixels()
    {
        var p = new PixelBuffer();
        p.Resize(200, 150, 800, 600);
        Assert.True(p.IsReduced);
        Assert.Equal(new CropRect(25, 10, 100, 75), p.ToPixels(new CropRect(100, 40, 400, 300)));
        Assert.Equal(new CropRect(199, 149, 1, 1), p.ToPixels(new CropRect(799, 599, 1, 1)));   // at least a pixel, inside
        Assert.Equal(new CropRect(0, 0, 200, 150), p.ToPixels(new CropRect(0, 0, 800, 600)));
        p.Resize(80, 60);
        Assert.False(p.IsReduced);
        Assert.Equal(new CropRect(3, 4, 5, 6), p.ToPixels(new CropRect(3, 4, 5, 6)));
        Assert.Throws<ArgumentOutOfRangeException>(() => p.Resize(80, 60, 40, 60)); // stored smaller than decoded
    }

    public static TheoryData<string> Policies() => new() { "simclr", "multicrop" };

    private static IViewPolicy Make(string name, bool scaling = true)
    {
        var colour = new AugmentOptions { Size = 32, ScaleMin = 0.2, DecodeScaling = scaling };
        return name == "simclr" ? new SimClrViewPolicy(colour) : new MultiCropViewPolicy(colour, new MultiCropOptions { LocalViews = 4 });
    }

    [Theory]
    [MemberData(nameof(Policies))]
    public void Decode_size_keeps_every_view_crop_at_least_its_size(string name)
    {
        var policy = Make(name);
        const int W = 640, H = 480;
        int reduced = 0;
        for (long i = 0; i < 200; i++)
        {
            var (mw, mh) = policy.DecodeSize(W, H, 7, 1, i);
            Assert.InRange(mw, 1, W);
            Assert.InRange(mh, 1, H);
            if (mw <= W / 2 && mh <= H / 2) reduced++;
            for (int v = 0; v < policy.ViewCount; v++)
            {
                // The crop the view will draw: the first draw of its stream, on the stored size.
                var rng = new SampleRandom(7, 1, i, v);
                var crop = name == "simclr" || v < MultiCropViewPolicy.GlobalViews
                    ? CropParameters.RandomResized(W, H, name == "simclr" ? 0.2 : 0.4, 1, 3.0 / 4, 4.0 / 3, ref rng)
                    : CropParameters.RandomResized(W, H, 0.05, 0.4, 3.0 / 4, 4.0 / 3, ref rng);
                int size = policy.ViewSize(v);
                Assert.True(crop.Width * (double)mw / W >= size - 1e-9 && crop.Height * (double)mh / H >= size - 1e-9,
                    $"sample {i} view {v}: crop {crop} at {mw}x{mh} of {W}x{H} is below {size} px");
            }
        }
        // 32-px views from 640x480 crops: most samples can be decoded at 1/2 or less.
        Assert.True(reduced > 100, $"only {reduced} of 200 samples could be decoded at half size or less");
        Assert.Equal((W, H), Make(name, scaling: false).DecodeSize(W, H, 7, 1, 0));
    }

    [Fact]
    public void Views_from_a_reduced_decode_stay_close_to_those_from_the_full_image()
    {
        Assert.True(TurboJpegDecoder.IsAvailable, "libturbojpeg.so.0 was not found: apt-get install libturbojpeg0");
        var jpeg = TurboJpegDecoderTests.Jpeg(640, 480, 92, seed: 4);
        var policy = Make("simclr");
        using var turbo = new TurboJpegDecoder();
        var full = new PixelBuffer();
        turbo.Decode(jpeg, full);
        Assert.False(full.IsReduced);
        var ws = new ViewWorkspace();
        var a = new byte[3 * 32 * 32];
        var b = new byte[3 * 32 * 32];
        int reducedSamples = 0;
        double worstMean = 0, total = 0;
        int views = 0;
        for (long i = 0; i < 40; i++)
        {
            var reduced = new PixelBuffer();
            turbo.Decode(jpeg, reduced, new Sizing(policy, i));
            Assert.Equal((640, 480), (reduced.SourceWidth, reduced.SourceHeight));
            var (mw, mh) = policy.DecodeSize(640, 480, 7, 0, i);
            Assert.True(reduced.Width >= mw && reduced.Height >= mh, $"decoded {reduced.Width}x{reduced.Height}, asked for {mw}x{mh}");
            // The smallest DCT scale that is large enough: half of it would not be.
            if (reduced.IsReduced) reducedSamples++;
            Assert.True(reduced.Width == 640 || (reduced.Width + 1) / 2 < mw || (reduced.Height + 1) / 2 < mh);
            for (int v = 0; v < 2; v++)
            {
                policy.WriteView(full, v, 7, 0, i, a, ws);
                policy.WriteView(reduced, v, 7, 0, i, b, ws);
                double mean = 0;
                for (int k = 0; k < a.Length; k++) mean += Math.Abs(a[k] - b[k]);
                worstMean = Math.Max(worstMean, mean / a.Length);
                total += mean / a.Length;
                views++;
            }
        }
        Assert.True(reducedSamples > 20, $"only {reducedSamples} of 40 samples were decoded reduced");
        // The same crops, low-passed by the IDCT instead of the triangle filter, edges rounded to the reduced grid (up to
        // 4 stored pixels at 1/8): measured 0.8 levels in 255 on average at 1/4 and 1.5 at 1/8, the worst view 3.5.
        // A crop mapped wrongly would show other parts of the scene (tens of levels).
        Assert.True(total / views < 2.0, $"views from the reduced decode differ by {total / views:F2} levels on average");
        Assert.True(worstMean < 5.0, $"a view from the reduced decode differs by {worstMean:F2} levels on average");
    }

    [Fact]
    public void Skia_decodes_in_full_whatever_the_sizing_asks()
    {
        var jpeg = TurboJpegDecoderTests.Jpeg(320, 240, 90);
        IImageDecoder skia = new SkiaImageDecoder();
        var p = new PixelBuffer();
        skia.Decode(jpeg, p, new Sizing(Make("simclr"), 0));
        Assert.Equal((320, 240, 320, 240), (p.Width, p.Height, p.SourceWidth, p.SourceHeight));
    }
}
