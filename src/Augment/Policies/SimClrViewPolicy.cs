namespace Contrastive.Augment;

/// <summary>
/// SimCLR's two-view policy: every view drawn independently with the same distribution; with
/// <see cref="AugmentOptions.Asymmetric"/>, BYOL's pair (view 0 always blurred; view 1 rarely blurred, sometimes solarized).
/// </summary>
public sealed class SimClrViewPolicy : IViewPolicy
{
    private readonly AugmentOptions _o;

    public SimClrViewPolicy(AugmentOptions options, int views = 2)
    {
        if (options.ScaleMin > options.ScaleMax) throw new ArgumentException($"ScaleMin ({options.ScaleMin}) is above ScaleMax ({options.ScaleMax}).");
        if (options.RatioMin > options.RatioMax) throw new ArgumentException($"RatioMin ({options.RatioMin}) is above RatioMax ({options.RatioMax}).");
        if (options.BlurSigmaMin > options.BlurSigmaMax) throw new ArgumentException($"BlurSigmaMin ({options.BlurSigmaMin}) is above BlurSigmaMax ({options.BlurSigmaMax}).");
        _o = options;
        ViewCount = views;
    }

    public int ViewCount { get; }

    /// <summary>The options the views are made with.</summary>
    public AugmentOptions Options => _o;

    public int Size => _o.Size;

    public void WriteView(PixelBuffer image, int view, long seed, int epoch, long sampleIndex, Span<byte> chw, ViewWorkspace ws)
    {
        var rng = new SampleRandom(seed, epoch, sampleIndex, view);
        var (blur, solarize) = _o.Asymmetric ? ByolPair(view, _o.BlurProbability > 0) : (_o.BlurProbability, 0.0);
        Render(image, _o, _o.Size, _o.ScaleMin, _o.ScaleMax, blur, solarize, ref rng, chw, ws);
    }

    public (int MinWidth, int MinHeight) DecodeSize(int width, int height, long seed, int epoch, long sampleIndex)
    {
        if (!_o.DecodeScaling) return (width, height);
        double need = 0;
        for (int v = 0; v < ViewCount; v++)
        {
            var rng = new SampleRandom(seed, epoch, sampleIndex, v);
            need = Math.Max(need, Reduction(DrawCrop(width, height, _o, _o.ScaleMin, _o.ScaleMax, ref rng), _o.Size));
        }
        return DecodeAtLeast(width, height, need);
    }

    /// <summary>The crop of a view: the first draw from the view's random stream, on the image's stored size.</summary>
    internal static CropRect DrawCrop(int width, int height, AugmentOptions o, double scaleMin, double scaleMax, ref SampleRandom rng) =>
        CropParameters.RandomResized(width, height, scaleMin, scaleMax, o.RatioMin, o.RatioMax, ref rng);

    /// <summary>The fraction of the stored size at which <paramref name="crop"/> is still at least <paramref name="size"/> on both sides.</summary>
    internal static double Reduction(CropRect crop, int size) => Math.Max((double)size / crop.Width, (double)size / crop.Height);

    /// <summary>The decoded size for a reduction to <paramref name="fraction"/> of the stored size (in full at 1 or above).</summary>
    internal static (int MinWidth, int MinHeight) DecodeAtLeast(int width, int height, double fraction) =>
        fraction >= 1 ? (width, height) : ((int)Math.Ceiling(width * fraction), (int)Math.Ceiling(height * fraction));

    /// <summary>
    /// BYOL's asymmetric blur and solarize probabilities: (1, 0) for even views, (0.1, 0.2) for odd ones; no blur at all
    /// when <paramref name="blur"/> is false (<see cref="AugmentOptions.BlurProbability"/> 0: small images, as lightly's
    /// CIFAR-10 recipes for BYOL and DINO).
    /// </summary>
    internal static (double Blur, double Solarize) ByolPair(int view, bool blur) =>
        view % 2 == 0 ? (blur ? 1.0 : 0.0, 0.0) : (blur ? 0.1 : 0.0, 0.2);

    /// <summary>
    /// One view: random resized crop (area fraction in [<paramref name="scaleMin"/>, <paramref name="scaleMax"/>]) to
    /// <paramref name="size"/>, flip, colour jitter in random order, grayscale, Gaussian blur with probability
    /// <paramref name="blurProbability"/> (kernel 10% of the size), solarize with probability <paramref name="solarizeProbability"/>.
    /// Everything is drawn first, in that order (<see cref="ViewDraw"/>), and then made in at most three passes: the crop resized (and mirrored for
    /// a flip) into float planes, the colour steps with grayscale (and solarize, without a blur) rounded into the bytes (or
    /// written back for the blur), the blur with its output rounded into the bytes (<see cref="ViewPass"/>).
    /// </summary>
    internal static void Render(PixelBuffer image, AugmentOptions o, int size, double scaleMin, double scaleMax, double blurProbability,
        double solarizeProbability, ref SampleRandom rng, Span<byte> chw, ViewWorkspace ws)
    {
        var work = ws.WorkFor(size);
        int pixels = size * size;
        var draw = ViewDraw.Draw(image.SourceWidth, image.SourceHeight, o, scaleMin, scaleMax, blurProbability, solarizeProbability, ref rng);
        var crop = image.ToPixels(draw.Crop);
        ReadOnlySpan<ColourStep> steps = ((ReadOnlySpan<ColourStep>)draw.Steps)[..draw.StepCount];
        ReadOnlySpan<float> kernel = [];
        if (!double.IsNaN(draw.BlurSigma))
        {
            var full = ws.KernelFor(GaussianBlur.KernelSizeFor(size));
            GaussianBlur.Kernel(full, draw.BlurSigma);
            kernel = GaussianBlur.Significant(full);
        }
        float solarize = draw.Solarize ? 0.5f : float.NaN;

        PlanarOps.CropResize(image.Pixels, image.Width, image.Height, crop.X, crop.Y, crop.Width, crop.Height, work, size, size, ws.Planar, draw.Flip);
        if (kernel.IsEmpty)
        {
            ViewPass.Colour(work, pixels, steps, draw.Grayscale, solarize, chw);
            return;
        }
        ViewPass.Colour(work, pixels, steps, draw.Grayscale, float.NaN, []);
        ViewPass.BlurToBytes(work, size, size, kernel, ws.Planar, solarize, chw);
    }
}
