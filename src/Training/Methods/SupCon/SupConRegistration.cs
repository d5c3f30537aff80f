namespace Contrastive.Training;

/// <summary>SupCon's entry in the <see cref="MethodRegistry"/>.</summary>
public sealed class SupConRegistration : MethodRegistration<SupConOptions>
{
    public override string Name => "supcon";

    public override string Summary => "Supervised contrastive (Khosla et al. 2020): every view of the anchor's class is a positive.";

    public override MethodData Data => MethodData.Images;

    public override bool NeedsLabels => true;

    public override string Section => "SupCon";

    public override bool SupportsGradCache => true;

    public override string ViewsDescription => "2 views (SimCLR augmentation, section Augment)";

    protected override IViewPolicy? Views(SupConOptions options, ViewSettings views) => new SimClrViewPolicy(views.Augment);

    protected override IContrastiveMethod Create(MethodContext context, SupConOptions options) => new SupConMethod(context, options);
}
