using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// Soft nearest neighbour loss (Frosst, Papernot and Hinton 2019): −(1/b) Σᵢ log(Σ_{j≠i, yⱼ=yᵢ} e^{−‖xᵢ−xⱼ‖²/T} / Σ_{k≠i} e^{−‖xᵢ−xₖ‖²/T}),
/// how entangled the classes are; low when each point's near neighbours share its class. Points without a
/// same-class neighbour are left out. Temperature T default 1.
/// </summary>
public sealed class SoftNearestNeighbourLoss(double temperature = 1.0)
{
    public double Temperature { get; } = temperature > 0 ? temperature : throw new ArgumentOutOfRangeException(nameof(temperature));

    public Tensor Compute(Tensor x, Tensor labels)
    {
        using var scope = NewDisposeScope();
        long n = x.shape[0];
        var sq = cdist(x, x).pow(2);
        var self = eye(n, dtype: ScalarType.Bool, device: x.device);
        var logits = (-sq / Temperature).masked_fill(self, double.NegativeInfinity);
        var same = labels.view(-1, 1).eq(labels.view(1, -1)).logical_and(self.logical_not());
        var all = logits.logsumexp(1);
        var pos = logits.masked_fill(same.logical_not(), double.NegativeInfinity).logsumexp(1);
        var has = same.any(1);
        return (all - pos).masked_select(has).mean().MoveToOuterDisposeScope();
    }
}
