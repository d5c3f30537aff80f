using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// Lifted structured loss (Song et al. 2016): for every positive pair (i, j),
/// J = log(Σ_{k: neg of i} exp(α − Dᵢₖ) + Σ_{l: neg of j} exp(α − Dⱼₗ)) + Dᵢⱼ, and the loss is
/// Σ max(0, J)² / (2 |P|) over the positive pairs, on Euclidean distances of L2-normalised embeddings. Margin α default 1.
/// </summary>
public sealed class LiftedStructuredLoss(double margin = 1.0)
{
    public double Margin { get; } = margin >= 0 ? margin : throw new ArgumentOutOfRangeException(nameof(margin));

    public Tensor Compute(Tensor embeddings, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var (dist, same, self) = LabelPairs.Of(embeddings, labels);
        var neg = same.logical_not();
        // Per sample: Σ over its negatives of exp(α − D).
        var negSum = ((Margin - dist).exp() * neg.to_type(ScalarType.Float32)).sum(1);
        var pairs = same.logical_and(self.logical_not()).triu(1);            // each unordered positive pair once
        var j = (negSum.view(-1, 1) + negSum.view(1, -1)).log() + dist;      // NaN-free where negSum > 0
        var valid = pairs.logical_and((negSum.view(-1, 1) + negSum.view(1, -1)).gt(0));
        var hinge = j.masked_select(valid).clamp_min(0).pow(2);
        long count = pairs.sum().item<long>();
        if (count == 0) return zeros(1, device: embeddings.device).sum().MoveToOuterDisposeScope();
        return (hinge.sum() / (2 * count)).MoveToOuterDisposeScope();
    }
}
