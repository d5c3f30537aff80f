using Contrastive.Augment;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>BYOL: an online network with a predictor regresses a moving-average target's projection of the other view (<see cref="Bootstrap"/>).</summary>
public sealed class ByolMethod : IContrastiveMethod
{
    private readonly Device _device;

    public ByolMethod(MethodContext context, ByolOptions options)
    {
        _device = context.Device;
        var o = context.Training;
        Network = ImageModels.Create(context, options.ProjectionDim);
        int hidden = ImageModels.ProjectionHidden(o.Encoder);
        Target = new Bootstrap(Network, () => new SimClrModel(o.Encoder, o.SmallImages, hidden, options.ProjectionDim), options.ProjectionDim, hidden, options.Tau,
            context.Device);
        Parameters = Network.parameters().Concat(Target.Predictor.parameters()).ToArray();
    }

    public SimClrModel Network { get; }

    /// <summary>The predictor and the target network.</summary>
    public Bootstrap Target { get; }

    public nn.Module Model => Network;

    public IReadOnlyList<Parameter> Parameters { get; }

    public Tensor Loss(Batch batch, double progress)
    {
        ImageModels.RequirePairs(batch, "byol");
        return Target.Loss(Network, ImageInput.ToTensor(batch, _device, 0, 2), batch.Count);
    }

    public void AfterStep(double progress) => Target.UpdateTarget(Network, progress);

    public byte[] SaveState() => Target.SaveState();

    public void LoadState(byte[] state) => Target.LoadState(state);

    public Tensor Embed(Batch batch) => ImageModels.Embed(Network.Encoder, batch, _device);

    public void Dispose()
    {
        Target.Dispose();
        Network.Dispose();
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
