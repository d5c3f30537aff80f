namespace Contrastive.Training;

/// <summary>MoCo's entry in the <see cref="MethodRegistry"/>.</summary>
public sealed class MocoRegistration : MethodRegistration<MocoOptions>
{
    public override string Name => "moco";

    public override string Summary => "MoCo v2 (He et al. 2020; Chen et al. 2020): a momentum key encoder and a queue of past keys as negatives.";

    public override MethodData Data => MethodData.Images;

    public override string Section => "Moco";

    public override IReadOnlyList<MethodFlag> Flags { get; } = [new("--moco-queue", "Moco:Queue", "moco: keys in the queue of negatives.")];

    public override string ViewsDescription => "2 views (SimCLR augmentation, section Augment)";

    protected override IViewPolicy? Views(MocoOptions options, ViewSettings views) => new SimClrViewPolicy(views.Augment);

    protected override IContrastiveMethod Create(MethodContext context, MocoOptions options) => new MocoMethod(context, options);
}
