using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// Multi-class N-pair loss (Sohn 2016): for N (anchor, positive) pairs of distinct classes,
/// mean over i of log(1 + Σ_{j≠i} exp(aᵢ·pⱼ − aᵢ·pᵢ)), i.e. cross entropy over the anchor-positive inner products
/// with the matching positive as the target, plus λ times the mean squared embedding norm (the paper's regulariser).
/// </summary>
public sealed class NPairLoss(double l2 = 0.002)
{
    public double L2 { get; } = l2 >= 0 ? l2 : throw new ArgumentOutOfRangeException(nameof(l2));

    public Tensor Compute(Tensor anchors, Tensor positives)
    {
        using var scope = NewDisposeScope();
        long n = anchors.shape[0];
        var logits = anchors.matmul(positives.t());
        var loss = nn.functional.cross_entropy(logits, arange(n, dtype: ScalarType.Int64, device: anchors.device));
        if (L2 > 0) loss = loss + L2 * (anchors.pow(2).sum(1).mean() + positives.pow(2).sum(1).mean()) / 2;
        return loss.MoveToOuterDisposeScope();
    }
}
