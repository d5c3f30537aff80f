using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// Triplet margin loss on a labelled batch with online mining (Hermans et al. 2017; Schroff et al. 2015), on
/// Euclidean distances of L2-normalised embeddings: batch-hard (hardest positive and hardest negative per anchor)
/// or semi-hard (for every positive pair, the nearest negative farther than the positive; the hardest negative when
/// none is). Anchors without a positive or a negative are left out.
/// </summary>
public sealed class TripletLoss(double margin = 0.2, TripletLoss.Mining mining = TripletLoss.Mining.BatchHard)
{
    public enum Mining { BatchHard, SemiHard }

    public double Margin { get; } = margin >= 0 ? margin : throw new ArgumentOutOfRangeException(nameof(margin));

    public Mining Strategy { get; } = mining;

    public Tensor Compute(Tensor embeddings, Tensor labels)
    {
        using var scope = NewDisposeScope();
        long n = embeddings.shape[0];
        var (dist, same, self) = LabelPairs.Of(embeddings, labels);
        var posMask = same.logical_and(self.logical_not());
        var negMask = same.logical_not();
        const double big = 1e9;
        if (Strategy == Mining.BatchHard)
        {
            var hardPos = dist.masked_fill(posMask.logical_not(), -big).max(1).values;
            var hardNeg = dist.masked_fill(negMask.logical_not(), big).min(1).values;
            var valid = posMask.any(1).logical_and(negMask.any(1));
            var loss = (hardPos - hardNeg + Margin).clamp_min(0);
            return loss.masked_select(valid).mean().MoveToOuterDisposeScope();
        }
        // Semi-hard: per (anchor, positive) pair.
        var dAp = dist.unsqueeze(2);                       // [n, n, 1] anchor-positive distance (by positive index j)
        var dAn = dist.unsqueeze(1);                       // [n, 1, n] anchor-negative distance (by negative index k)
        var neg = negMask.unsqueeze(1);                    // [n, 1, n]
        var semi = neg.logical_and(dAn.gt(dAp));           // negatives farther than the positive
        var semiMin = dAn.expand(n, n, n).masked_fill(semi.logical_not(), big).min(2).values;
        var hardest = dist.masked_fill(negMask.logical_not(), big).min(1).values.view(n, 1).expand(n, n);
        var chosen = where(semi.any(2), semiMin, hardest);
        var pairLoss = (dist - chosen + Margin).clamp_min(0);
        var pairs = posMask.logical_and(negMask.any(1).view(n, 1));
        return pairLoss.masked_select(pairs).mean().MoveToOuterDisposeScope();
    }
}
