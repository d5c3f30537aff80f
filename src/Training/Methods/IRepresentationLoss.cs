using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// A method whose loss is a function of per-view representations that are computed independently of one another (SimCLR,
/// SupCon): gradient caching (<see cref="GradCache"/>) can then split the encoding into chunks and still give the full
/// batch's gradient (up to BatchNorm statistics, which are per chunk).
/// </summary>
public interface IRepresentationLoss
{
    /// <summary>The rows to encode (e.g. both views of every sample, [2n, 3, S, S]).</summary>
    Tensor Inputs(Batch batch);

    /// <summary>Representations of rows of <see cref="Inputs"/>, with a graph.</summary>
    Tensor Encode(Tensor rows);

    /// <summary>The loss over all the representations of the batch.</summary>
    Tensor LossOn(Tensor representations, Batch batch);
}
