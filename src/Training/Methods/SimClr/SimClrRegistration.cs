namespace Contrastive.Training;

/// <summary>SimCLR's entry in the <see cref="MethodRegistry"/>.</summary>
public sealed class SimClrRegistration : MethodRegistration<SimClrOptions>
{
    public override string Name => "simclr";

    public override string Summary => "SimCLR (Chen et al. 2020): NT-Xent between two augmented views, the batch's other views as negatives.";

    public override MethodData Data => MethodData.Images;

    public override string Section => "SimClr";

    public override bool SupportsGradCache => true;

    public override string ViewsDescription => "2 views (SimCLR augmentation, section Augment)";

    protected override IViewPolicy? Views(SimClrOptions options, ViewSettings views) => new SimClrViewPolicy(views.Augment);

    protected override IContrastiveMethod Create(MethodContext context, SimClrOptions options) => new SimClrMethod(context, options);
}
