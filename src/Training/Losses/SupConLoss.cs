using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// Supervised contrastive loss (Khosla et al. 2020, L_out): for each anchor, the mean over its positives (every
/// other sample with the same label) of −log softmax over all other samples of cosine similarity / T. Anchors
/// without a positive are left out. With one positive per anchor (the other view) it equals NT-Xent.
/// </summary>
public sealed class SupConLoss(double temperature = 0.1)
{
    public double Temperature { get; } = temperature > 0 ? temperature : throw new ArgumentOutOfRangeException(nameof(temperature));

    /// <param name="features">[N, D] projections (all views stacked).</param>
    /// <param name="labels">[N] int64 labels; views of one sample share a label (or an instance id for unsupervised use).</param>
    public Tensor Compute(Tensor features, Tensor labels)
    {
        using var scope = NewDisposeScope();
        long n = features.shape[0];
        var z = nn.functional.normalize(features, p: 2, dim: 1);
        var logits = z.matmul(z.t()).div(Temperature);
        var self = eye(n, dtype: ScalarType.Bool, device: z.device);
        logits = logits.masked_fill(self, double.NegativeInfinity);
        var logProb = logits - logits.logsumexp(1, keepdim: true);
        var positives = labels.view(-1, 1).eq(labels.view(1, -1)).logical_and(self.logical_not()).to_type(ScalarType.Float32);
        var count = positives.sum(1);
        var has = count.gt(0);
        var perAnchor = -(logProb.masked_fill(self, 0) * positives).sum(1) / count.clamp_min(1);
        return perAnchor.masked_select(has).mean().MoveToOuterDisposeScope();
    }
}
