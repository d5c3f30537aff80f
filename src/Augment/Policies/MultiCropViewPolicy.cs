namespace Contrastive.Augment;

/// <summary>
/// Multi-crop views: views 0 and 1 are the global ones (<see cref="IViewPolicy.Size"/>), views 2 and up the local ones
/// (<see cref="LocalSize"/>). See <see cref="MultiCropOptions"/> for the distributions.
/// </summary>
public sealed class MultiCropViewPolicy : IViewPolicy
{
    public const int GlobalViews = 2;

    private readonly AugmentOptions _colour;
    private readonly MultiCropOptions _o;

    public MultiCropViewPolicy(AugmentOptions colour, MultiCropOptions options)
    {
        if (options.LocalScaleMin > options.LocalScaleMax)
            throw new ArgumentException($"LocalScaleMin ({options.LocalScaleMin}) is above LocalScaleMax ({options.LocalScaleMax}).");
        _colour = colour;
        _o = options;
        LocalSize = options.LocalSizeFor(colour.Size);
        if (LocalSize > colour.Size) throw new ArgumentException($"LocalSize ({LocalSize}) is above the global size ({colour.Size}).");
    }

    public int ViewCount => GlobalViews + _o.LocalViews;

    public int Size => _colour.Size;

    public int LocalSize { get; }

    public int ViewSize(int view) => view < GlobalViews ? Size : LocalSize;

    public (int MinWidth, int MinHeight) DecodeSize(int width, int height, long seed, int epoch, long sampleIndex)
    {
        if (!_colour.DecodeScaling) return (width, height);
        double need = 0;
        for (int v = 0; v < ViewCount; v++)
        {
            var rng = new SampleRandom(seed, epoch, sampleIndex, v);
            var crop = v < GlobalViews
                ? SimClrViewPolicy.DrawCrop(width, height, _colour, _o.GlobalScaleMin, 1, ref rng)
                : SimClrViewPolicy.DrawCrop(width, height, _colour, _o.LocalScaleMin, _o.LocalScaleMax, ref rng);
            need = Math.Max(need, SimClrViewPolicy.Reduction(crop, ViewSize(v)));
        }
        return SimClrViewPolicy.DecodeAtLeast(width, height, need);
    }

    public void WriteView(PixelBuffer image, int view, long seed, int epoch, long sampleIndex, Span<byte> chw, ViewWorkspace ws)
    {
        var rng = new SampleRandom(seed, epoch, sampleIndex, view);
        if (view < GlobalViews)
        {
            var (blur, solarize) = SimClrViewPolicy.ByolPair(view, _colour.BlurProbability > 0);
            SimClrViewPolicy.Render(image, _colour, Size, _o.GlobalScaleMin, 1, blur, solarize, ref rng, chw, ws);
        }
        else SimClrViewPolicy.Render(image, _colour, LocalSize, _o.LocalScaleMin, _o.LocalScaleMax, _colour.BlurProbability > 0 ? 0.5 : 0, 0, ref rng, chw, ws);
    }
}
