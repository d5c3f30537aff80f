using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// A loss over the global batch whose rows are not one representation per view (CLIP: images and texts): in data-parallel
/// training the trainer gathers every rank's <see cref="EncodeRows"/> and back-propagates this rank's
/// <see cref="GlobalShare"/> through the gathered rows (two stages, as <see cref="GlobalBatch"/>), so every rank's samples
/// are negatives of every other's.
/// </summary>
public interface IGlobalBatchLoss
{
    /// <summary>This rank's rows, [m, D], with their graph (every rank has the same m).</summary>
    Tensor EncodeRows(Batch batch);

    /// <summary>
    /// This rank's share of the loss given every rank's rows <paramref name="all"/> [W·m, D] (rank-major), this rank's
    /// first row and row count: the shares' mean over ranks must be the global batch's loss.
    /// </summary>
    Tensor GlobalShare(Tensor all, long first, long count, int worldSize);
}
