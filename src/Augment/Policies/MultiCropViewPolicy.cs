namespace Contrastive.Augment;

/// <summary>
/// Multi-crop views: views 0 and 1 are the global ones (<see cref="IViewPolicy.Size"/>), views 2 and up the local ones
/// (<see cref="LocalSize"/>). See <see cref="MultiCropViewOptions"/> for the distributions.
/// </summary>
public sealed class MultiCropViewPolicy : IViewPolicy
{
    public const int GlobalViews = 2;

    private readonly SimClrViewOptions _colour;
    private readonly MultiCropViewOptions _o;

    public MultiCropViewPolicy(SimClrViewOptions colour, MultiCropViewOptions options)
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

    public void WriteView(PixelBuffer image, int view, long seed, int epoch, long sampleIndex, Span<byte> chw, ViewWorkspace ws)
    {
        var rng = new SampleRandom(seed, epoch, sampleIndex, view);
        if (view < GlobalViews)
        {
            var (blur, solarize) = SimClrViewPolicy.ByolPair(view);
            SimClrViewPolicy.Render(image, _colour, Size, _o.GlobalScaleMin, 1, blur, solarize, ref rng, chw, ws);
        }
        else SimClrViewPolicy.Render(image, _colour, LocalSize, _o.LocalScaleMin, _o.LocalScaleMax, 0.5, 0, ref rng, chw, ws);
    }
}
