using Contrastive.Augment;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>BYOL: an online network with a predictor regresses a moving-average target's projection of the other view (<see cref="Bootstrap"/>).</summary>
public sealed class ByolMethod : ImageMethod
{
    public ByolMethod(MethodContext context, ByolOptions options) : base(context, options.ProjectionDim)
    {
        Target = new Bootstrap(Network, ImageModels.Factory(context, options.ProjectionDim), options.ProjectionDim,
            ImageModels.ProjectionHidden(context.Training.Encoder), options.Tau, context.Device);
        Parameters = Network.parameters().Concat(Target.Predictor.parameters()).ToArray();
    }

    /// <summary>The predictor and the target network.</summary>
    public Bootstrap Target { get; }

    public override IReadOnlyList<Parameter> Parameters { get; }

    public override Tensor Loss(Batch batch, double progress) => Target.Loss(Network, Pairs(batch, "byol"), batch.Count);

    public override void AfterStep(double progress) => Target.UpdateTarget(Network, progress);

    public override byte[] SaveState() => Target.SaveState();

    public override void LoadState(byte[] state) => Target.LoadState(state);

    protected override void Dispose(bool disposing)
    {
        if (disposing) Target.Dispose();
        base.Dispose(disposing);
    }
}

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
