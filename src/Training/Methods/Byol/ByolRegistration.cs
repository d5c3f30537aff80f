namespace Contrastive.Training;

/// <summary>BYOL's entry in the <see cref="MethodRegistry"/>.</summary>
public sealed class ByolRegistration : MethodRegistration<ByolOptions>
{
    public override string Name => "byol";

    public override string Summary => "BYOL (Grill et al. 2020): an online network predicts a moving-average target's projection; no negatives.";

    public override MethodData Data => MethodData.Images;

    public override string Section => "Byol";

    public override string ViewsDescription => "2 views, BYOL's asymmetric pair (view 0 always blurred; view 1 blurred p 0.1, solarized p 0.2)";

    protected override IViewPolicy? Views(ByolOptions options, ViewSettings views)
    {
        var augment = views.Augment.Copy();
        augment.Asymmetric = options.AsymmetricViews;
        return new SimClrViewPolicy(augment);
    }

    protected override IContrastiveMethod Create(MethodContext context, ByolOptions options) => new ByolMethod(context, options);
}
