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
public static class GlobalBatch
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

/// <summary>
/// The supervised-contrastive form of NT-Xent over the global batch (Khosla et al. 2020, L_out), for a subset of anchor
/// rows: each anchor's positives are the other rows with its key, its softmax runs over every other row of every rank
/// (cosine similarity / T). The sum over this rank's anchors is divided by the global count of anchors with a positive
/// over the world size, so the ranks' mean is the global batch's mean loss. With each row's only positive its other view
/// (SimCLR's instance keys) it is NT-Xent; with class keys, SupCon.
/// </summary>
public static class GlobalContrastLoss
{
    /// <param name="all">Every rank's rows, [N, D].</param>
    /// <param name="keys">[N] int64 keys (<see cref="GlobalBatch.GlobalKeys"/>).</param>
    /// <param name="first">This rank's first row.</param>
    /// <param name="count">This rank's rows (the anchors).</param>
    public static Tensor Compute(Tensor all, Tensor keys, long first, long count, double temperature, int worldSize)
    {
        using var scope = NewDisposeScope();
        long n = all.shape[0];
        var z = nn.functional.normalize(all, p: 2, dim: 1);
        var anchors = z.narrow(0, first, count);
        var logits = anchors.matmul(z.t()).div(temperature);
        var self = zeros(count, n, dtype: ScalarType.Bool, device: all.device);
        self.narrow(1, first, count).copy_(eye(count, dtype: ScalarType.Bool, device: all.device));
        logits = logits.masked_fill(self, double.NegativeInfinity);
        var logProb = logits - logits.logsumexp(1, keepdim: true);
        var anchorKeys = keys.narrow(0, first, count);
        var positives = anchorKeys.view(-1, 1).eq(keys.view(1, -1)).logical_and(self.logical_not()).to_type(all.dtype);
        var perAnchor = -(logProb.masked_fill(self, 0) * positives).sum(1) / positives.sum(1).clamp_min(1);
        // Anchors with a positive anywhere in the world (the global loss's denominator).
        var same = keys.view(-1, 1).eq(keys.view(1, -1));
        long withPositive = same.sum(1).gt(1).sum().item<long>();
        if (withPositive == 0) throw new ArgumentException("no row of the global batch has a positive");
        return (perAnchor.sum() * (worldSize / (double)withPositive)).MoveToOuterDisposeScope();
    }
}
