using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// Two-view InfoNCE losses that reweight the negatives of NT-Xent's 2N − 2: the debiased loss of Chuang et al. 2020
/// (corrects for negatives that share the anchor's class, with class prior τ⁺) and the hard-negative loss of
/// Robinson et al. 2021 (importance weights exp(β·sim) on the negatives, with the debiasing correction).
/// </summary>
public sealed class DebiasedInfoNceLoss(double temperature = 0.5, double tauPlus = 0.1, double beta = 0.0)
{
    public double Temperature { get; } = temperature > 0 ? temperature : throw new ArgumentOutOfRangeException(nameof(temperature));

    /// <summary>Class prior τ⁺: the probability that a "negative" shares the anchor's class. 0 gives plain InfoNCE.</summary>
    public double TauPlus { get; } = tauPlus is >= 0 and < 1 ? tauPlus : throw new ArgumentOutOfRangeException(nameof(tauPlus));

    /// <summary>Hardness β of Robinson et al.: 0 = debiased only; larger weights the most similar negatives more.</summary>
    public double Beta { get; } = beta >= 0 ? beta : throw new ArgumentOutOfRangeException(nameof(beta));

    public Tensor Compute(Tensor z1, Tensor z2)
    {
        using var scope = NewDisposeScope();
        long n = z1.shape[0];
        var z = nn.functional.normalize(cat([z1, z2], 0), p: 2, dim: 1);
        var sim = z.matmul(z.t());
        var exp = (sim / Temperature).exp();
        var idx = arange(n, dtype: ScalarType.Int64, device: z.device);
        var partner = cat([idx + n, idx], 0);
        var pos = exp.gather(1, partner.view(-1, 1)).squeeze(1);
        // Negatives: every other sample except self and the partner.
        var isPartner = nn.functional.one_hot(partner, 2 * n).to_type(ScalarType.Bool);
        var mask = eye(2 * n, dtype: ScalarType.Bool, device: z.device).logical_or(isPartner).logical_not();
        var negExp = exp.masked_select(mask).view(2 * n, 2 * n - 2);
        long m = 2 * n - 2;
        Tensor ng;
        if (Beta > 0)
        {
            var imp = (negExp.log() * Beta).exp(); // exp(β · sim / T) = (exp(sim / T))^β
            var reweighted = (imp * negExp).sum(1) / imp.mean([1L]);
            ng = (-TauPlus * m * pos + reweighted) / (1 - TauPlus);
        }
        else
        {
            ng = (-TauPlus * m * pos + negExp.sum(1)) / (1 - TauPlus);
        }
        ng = ng.clamp_min(m * Math.Exp(-1 / Temperature)); // the lower bound of the estimator (Chuang et al., eq. 7)
        return (-(pos / (pos + ng)).log()).mean().MoveToOuterDisposeScope();
    }
}
