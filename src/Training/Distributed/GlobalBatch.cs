using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// A contrastive loss over the global batch (every rank's representations as negatives) without a differentiable
/// all-gather, in two stages: 1) gather every rank's representations, detached, into a leaf that records its gradient;
/// 2) compute this rank's part of the loss (its own rows as anchors against all rows) and back-propagate it to the
/// leaf; 3) all-reduce (sum) that gradient, since every rank's loss depends on this rank's rows; 4) return this rank's
/// slice, which the caller back-propagates through its own encoder pass. With the trainer's gradient averaging
/// (<see cref="DataParallel"/>) the parameters' gradient is that of the mean of the ranks' losses, so a rank's loss must
/// be scaled so that this mean is the global loss (<see cref="GlobalContrastLoss"/> is).
/// </summary>
internal static class GlobalBatch
{
    /// <summary>
    /// This rank's loss and its gradient with respect to this rank's <paramref name="representations"/> [m, D] (every rank
    /// the same m). <paramref name="loss"/> gets all ranks' rows [W·m, D] (rank-major) and the index of this rank's first row.
    /// </summary>
    public static (double Loss, Tensor Gradient) Gradient(IProcessGroup group, Tensor representations, Func<Tensor, long, Tensor> loss)
    {
        using var scope = NewDisposeScope();
        long m = representations.shape[0];
        var all = group.AllGather(representations.detach()).requires_grad_(true);
        var value = loss(all, group.Rank * m);
        value.backward();
        var grad = all.grad!.detach().clone();
        group.AllReduceInPlace(grad, ReduceOp.Sum);
        var own = grad.narrow(0, group.Rank * m, m).clone();
        return (value.ToDouble(), own.MoveToOuterDisposeScope());
    }

    /// <summary>Keys of every rank's rows: negative keys (instance ids within a rank's batch) made distinct across ranks.</summary>
    public static Tensor GlobalKeys(IProcessGroup group, long[] keys, Device device)
    {
        const long Stride = 1L << 40;
        var mine = keys.Select(k => k < 0 ? k - group.Rank * Stride : k).ToArray();
        using var local = tensor(mine, device: CPU);
        using var all = group.AllGather(local);
        return all.to(device);
    }
}
