using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// The supervised-contrastive form of NT-Xent over the global batch (Khosla et al. 2020, L_out), for a subset of anchor
/// rows: each anchor's positives are the other rows with its key, its softmax runs over every other row of every rank
/// (cosine similarity / T). The sum over this rank's anchors is divided by the global count of anchors with a positive
/// over the world size, so the ranks' mean is the global batch's mean loss. With each row's only positive its other view
/// (SimCLR's instance keys) it is NT-Xent; with class keys, SupCon.
/// </summary>
internal static class GlobalContrastLoss
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
