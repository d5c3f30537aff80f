using Contrastive.Augment;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// What every image method starts from: the run's encoder with a projection head (<see cref="Network"/>, the checkpoint's
/// model), on the context's device, and the encoder's features of the first view as the evaluation embedding.
/// </summary>
public abstract class ImageMethod : IContrastiveMethod
{
    protected ImageMethod(MethodContext context, int projectionDim)
    {
        Device = context.Device;
        Network = ImageModels.Create(context, projectionDim);
    }

    protected Device Device { get; }

    /// <summary>The encoder and projection head.</summary>
    public SimClrModel Network { get; }

    public nn.Module Model => Network;

    public abstract IReadOnlyList<Parameter> Parameters { get; }

    public abstract Tensor Loss(Batch batch, double progress);

    public virtual void AfterStep(double progress) { }

    public virtual byte[] SaveState() => [];

    public virtual void LoadState(byte[] state) { }

    public virtual double DefaultClipGradNorm => 0;

    public Tensor Embed(Batch batch) => ImageModels.Embed(Network.Encoder, batch, Device);

    /// <summary>Both views of every sample, [2n, 3, S, S], after checking the batch is of pairs.</summary>
    protected Tensor Pairs(Batch batch, string method)
    {
        ImageModels.RequirePairs(batch, method);
        return ImageInput.ToTensor(batch, Device, 0, 2);
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Disposes the method's own modules; the base disposes <see cref="Network"/>.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing) Network.Dispose();
    }
}

/// <summary>
/// A method whose loss is a function of the projections of both views of every sample, encoded independently (SimCLR,
/// SupCon): gradient caching fits it (<see cref="IRepresentationLoss"/>).
/// </summary>
public abstract class PairContrastMethod(MethodContext context, int projectionDim, string name) : ImageMethod(context, projectionDim), IRepresentationLoss
{
    private IReadOnlyList<Parameter>? _parameters;

    public override IReadOnlyList<Parameter> Parameters => _parameters ??= Network.parameters().ToArray();

    public override Tensor Loss(Batch batch, double progress) => LossOn(Encode(Inputs(batch)), batch);

    public Tensor Inputs(Batch batch) => Pairs(batch, name);

    public Tensor Encode(Tensor rows) => Network.forward(rows);

    /// <summary>The loss over the 2n projections (view 0 of every sample, then view 1).</summary>
    public abstract Tensor LossOn(Tensor representations, Batch batch);
}
