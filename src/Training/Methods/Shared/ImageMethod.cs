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
    public ProjectedEncoder Network { get; }

    public nn.Module Model => Network;

    public abstract IReadOnlyList<Parameter> Parameters { get; }

    public abstract Tensor Loss(Batch batch, double progress);

    public virtual void AfterStep(double progress) { }

    public virtual void ModelReplaced() { }

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
