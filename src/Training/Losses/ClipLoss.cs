using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// CLIP's symmetric cross-entropy (Radford et al. 2021, figure 3): the image and text embeddings are L2-normalised, the
/// logits are their cosine similarities times the logit scale exp(s) (s learnable, initialised to ln(1/0.07) and the scale
/// clamped at <see cref="MaxScale"/>), and the loss is the mean of the image→text and text→image cross-entropies with
/// each sample's own caption as the target.
/// </summary>
public static class ClipLoss
{
    /// <summary>The largest logit scale (CLIP clips exp(s) at 100 to keep training stable).</summary>
    public const double MaxScale = 100;

    /// <summary>The initial logit scale parameter: ln(1/0.07).</summary>
    public static readonly double InitialLogScale = Math.Log(1 / 0.07);

    /// <summary>exp(<paramref name="logScale"/>) clamped at <paramref name="maxScale"/> (with its graph).</summary>
    public static Tensor Scale(Tensor logScale, double maxScale = MaxScale) => logScale.exp().clamp_max(maxScale);

    /// <summary>The loss of one batch: images [n, E] and their texts [n, E] (row i describes image i).</summary>
    public static Tensor Compute(Tensor images, Tensor texts, Tensor logScale, double maxScale = MaxScale)
    {
        using var scope = NewDisposeScope();
        if (images.shape[0] != texts.shape[0]) throw new ArgumentException($"{images.shape[0]} images but {texts.shape[0]} texts");
        var i = nn.functional.normalize(images, p: 2, dim: 1);
        var t = nn.functional.normalize(texts, p: 2, dim: 1);
        var logits = i.matmul(t.t()) * Scale(logScale, maxScale);
        var targets = arange(images.shape[0], dtype: ScalarType.Int64, device: images.device);
        var loss = (nn.functional.cross_entropy(logits, targets) + nn.functional.cross_entropy(logits.t(), targets)) / 2;
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// This rank's share of the global batch's loss (data-parallel training): <paramref name="all"/> holds every rank's rows,
    /// rank-major, each rank's block being its n image embeddings then its n text embeddings ([W·2n, E]); this rank's block
    /// starts at <paramref name="first"/>. This rank's images are scored against every rank's texts and its texts against
    /// every rank's images. The shares' mean over the ranks is the loss of one process holding the whole global batch.
    /// </summary>
    public static Tensor GlobalShare(Tensor all, long first, long n, int worldSize, Tensor logScale, double maxScale = MaxScale)
    {
        using var scope = NewDisposeScope();
        long e = all.shape[1];
        if (all.shape[0] != worldSize * 2 * n) throw new ArgumentException($"expected {worldSize} ranks × 2 × {n} rows, got {all.shape[0]}");
        var z = nn.functional.normalize(all, p: 2, dim: 1).view(worldSize, 2, n, e);
        var images = z.select(1, 0).reshape(worldSize * n, e);
        var texts = z.select(1, 1).reshape(worldSize * n, e);
        long rank = first / (2 * n);
        var myImages = images.narrow(0, rank * n, n);
        var myTexts = texts.narrow(0, rank * n, n);
        var scale = Scale(logScale, maxScale);
        var targets = arange(rank * n, (rank + 1) * n, dtype: ScalarType.Int64, device: all.device);
        var imageToText = nn.functional.cross_entropy(myImages.matmul(texts.t()) * scale, targets);
        var textToImage = nn.functional.cross_entropy(myTexts.matmul(images.t()) * scale, targets);
        return ((imageToText + textToImage) / 2).MoveToOuterDisposeScope();
    }
}
