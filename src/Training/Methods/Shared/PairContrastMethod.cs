using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Contrastive.Training;

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
