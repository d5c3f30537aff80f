using Contrastive.Augment;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>BYOL: an online network with a predictor regresses a moving-average target's projection of the other view (<see cref="ByolTarget"/>).</summary>
public sealed class ByolMethod : ImageMethod
{
    public ByolMethod(MethodContext context, ByolOptions options) : base(context, options.ProjectionDim)
    {
        Target = new ByolTarget(Network, ImageModels.Factory(context, options.ProjectionDim), options.ProjectionDim,
            ImageModels.ProjectionHidden(context.Training.Encoder), options.Tau, context.Device);
        Parameters = Network.parameters().Concat(Target.Predictor.parameters()).ToArray();
    }

    /// <summary>The predictor and the target network.</summary>
    internal ByolTarget Target { get; }

    public override IReadOnlyList<Parameter> Parameters { get; }

    public override Tensor Loss(Batch batch, double progress) => Target.Loss(Network, Pairs(batch, "byol"), batch.Count);

    public override void AfterStep(double progress) => Target.UpdateTarget(Network, progress);

    public override void ModelReplaced() => ModuleState.Copy(Network, Target.Target);

    public override byte[] SaveState() => Target.SaveState();

    public override void LoadState(byte[] state) => Target.LoadState(state);

    protected override void Dispose(bool disposing)
    {
        if (disposing) Target.Dispose();
        base.Dispose(disposing);
    }
}
