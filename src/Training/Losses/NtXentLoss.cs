using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// NT-Xent (normalised temperature-scaled cross entropy, Chen et al. 2020): for 2N projections of N pairs,
/// each one's positive is its pair and the other 2N − 2 are negatives; the loss is the mean over all 2N
/// anchors of the cross entropy over the cosine similarities divided by the temperature, self excluded.
/// </summary>
public sealed class NtXentLoss(double temperature = 0.5)
{
    public double Temperature { get; } = temperature > 0 ? temperature : throw new ArgumentOutOfRangeException(nameof(temperature), "temperature must be positive");

    /// <param name="z1">Projections of the first views, [N, D].</param>
    /// <param name="z2">Projections of the second views, [N, D]; row i pairs with row i of <paramref name="z1"/>.</param>
    public Tensor Compute(Tensor z1, Tensor z2)
    {
        long n = z1.shape[0];
        if (n < 2) throw new ArgumentException("NT-Xent needs at least two pairs");
        using var scope = NewDisposeScope();
        var z = nn.functional.normalize(cat([z1, z2], 0), p: 2, dim: 1);
        var logits = z.matmul(z.t()).div(Temperature);
        var self = eye(2 * n, dtype: ScalarType.Bool, device: z.device);
        logits = logits.masked_fill(self, double.NegativeInfinity);
        var idx = arange(n, dtype: ScalarType.Int64, device: z.device);
        var targets = cat([idx + n, idx], 0);
        return nn.functional.cross_entropy(logits, targets).MoveToOuterDisposeScope();
    }
}
