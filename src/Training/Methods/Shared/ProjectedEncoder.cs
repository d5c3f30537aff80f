using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>SimCLR's network: an encoder (features used downstream) and a projection head (used by the loss only).</summary>
public sealed class ProjectedEncoder : nn.Module<Tensor, Tensor>
{
    public ProjectedEncoder(string encoder, bool smallImages, int projectionHidden, int projectionDim, int convNetPool = SmallConvNet.DefaultPool) : base("SimClrModel")
    {
        Encoder = Training.Encoder.Create(encoder, smallImages, convNetPool);
        Projector = new ProjectionHead(Encoder.FeatureDim, projectionHidden, projectionDim);
        RegisterComponents();
    }

    public Encoder Encoder { get; }

    public ProjectionHead Projector { get; }

    /// <summary>Projections of normalised images.</summary>
    public override Tensor forward(Tensor x)
    {
        using var h = Encoder.forward(x);
        return Projector.forward(h);
    }
}
