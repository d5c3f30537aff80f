using Contrastive.Training.Text;

namespace Contrastive.Training;

/// <summary>CLIP's entry in the <see cref="MethodRegistry"/>.</summary>
public sealed class ClipRegistration : MethodRegistration<ClipOptions>
{
    public override string Name => "clip";

    public override string Summary => "CLIP (Radford et al. 2021): an image tower and a text transformer trained with a symmetric cross-entropy between images and their captions.";

    public override MethodData Data => MethodData.Images;

    public override string Section => "Clip";

    public override IReadOnlyList<MethodFlag> Flags { get; } =
    [
        new("--text-width", "Clip:TextWidth", "clip: width of the text transformer."),
        new("--text-layers", "Clip:TextLayers", "clip: blocks of the text transformer."),
        new("--context-length", "Clip:ContextLength", "clip: token ids per caption (start and end included); longer captions are cut, keeping the end token.", Captions: true),
    ];

    public override string ViewsDescription => "1 view (random resized crop of Clip:CropScaleMin to 100 %, nothing else) and the caption's tokens";

    protected override IViewPolicy? Views(ClipOptions options, ViewSettings views)
    {
        var o = views.Augment.Copy();
        o.ScaleMin = options.CropScaleMin;
        o.ScaleMax = 1;
        o.FlipProbability = 0;
        o.JitterProbability = 0;
        o.GrayscaleProbability = 0;
        o.BlurProbability = 0;
        o.Asymmetric = false;
        return new SimClrViewPolicy(o, views: 1);
    }

    protected override ICaptionEncoder? CaptionEncoder(ClipOptions options) => new CaptionTokenizer(options.ContextLength);

    protected override IContrastiveMethod Create(MethodContext context, ClipOptions options) => new ClipMethod(context, options);
}
