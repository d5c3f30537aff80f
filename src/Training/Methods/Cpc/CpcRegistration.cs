namespace Contrastive.Training;

/// <summary>CPC's entry in the <see cref="MethodRegistry"/>.</summary>
public sealed class CpcRegistration : MethodRegistration<CpcOptions>
{
    public override string Name => "cpc";

    public override string Summary => "CPC (van den Oord et al. 2018): predict future encoded steps of a series from a GRU context, InfoNCE against other sequences.";

    public override MethodData Data => MethodData.Series;

    public override string Section => "Cpc";

    public override string ViewsDescription => "1 window per series (section Series: length, scaling, noise, masking)";

    protected override IContrastiveMethod Create(MethodContext context, CpcOptions options) => new CpcMethod(context, options);
}
