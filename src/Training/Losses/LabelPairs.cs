using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>Euclidean distances of L2-normalised embeddings and the label masks the pair-mining losses share.</summary>
internal static class LabelPairs
{
    /// <returns>Distances [n, n]; Same: same label (self included); Self: the diagonal.</returns>
    public static (Tensor Distance, Tensor Same, Tensor Self) Of(Tensor embeddings, Tensor labels)
    {
        long n = embeddings.shape[0];
        var z = nn.functional.normalize(embeddings, p: 2, dim: 1);
        var distance = cdist(z, z).clamp_min(0);
        var same = labels.view(-1, 1).eq(labels.view(1, -1));
        var self = eye(n, dtype: ScalarType.Bool, device: embeddings.device);
        return (distance, same, self);
    }
}
