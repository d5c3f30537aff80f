using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>BYOL's regression loss (Grill et al. 2020): 2 − 2·cos(p, z), the squared distance of the normalised prediction and target; the target gets no gradient.</summary>
public static class ByolLoss
{
    public static Tensor Compute(Tensor prediction, Tensor target)
    {
        using var scope = NewDisposeScope();
        var cos = nn.functional.cosine_similarity(prediction, target.detach(), dim: 1);
        return (2 - 2 * cos).mean().MoveToOuterDisposeScope();
    }
}
