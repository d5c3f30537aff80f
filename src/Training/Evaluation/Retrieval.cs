using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// Image↔text retrieval recall: image i's caption is text i. Recall@k (image→text) is the share of images whose caption
/// ranks among the k texts most similar to it; text→image likewise. A text scored exactly as high as the true caption
/// (an identical caption has an identical embedding) does not push it down: ranks count strictly better scores.
/// </summary>
public static class Retrieval
{
    /// <summary>Recall@k of each k in <paramref name="ks"/>, both ways, for normalised image and text embeddings [N, E].</summary>
    public static (double[] ImageToText, double[] TextToImage) Recall(Tensor images, Tensor texts, IReadOnlyList<int> ks)
    {
        if (images.shape[0] != texts.shape[0]) throw new ArgumentException($"{images.shape[0]} images but {texts.shape[0]} texts");
        using var scope = NewDisposeScope();
        var s = nn.functional.normalize(images, p: 2, dim: 1).matmul(nn.functional.normalize(texts, p: 2, dim: 1).t());
        var diagonal = s.diagonal().view(-1, 1);
        var i2t = s.gt(diagonal).sum(1);                    // texts better than image i's own caption
        var t2i = s.t().gt(s.diagonal().view(-1, 1)).sum(1); // images better than text i's own image
        double At(Tensor ranks, int k) => ranks.lt(k).to_type(ScalarType.Float64).mean().item<double>();
        return (ks.Select(k => At(i2t, k)).ToArray(), ks.Select(k => At(t2i, k)).ToArray());
    }
}
