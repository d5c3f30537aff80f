using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// CPC's InfoNCE: for every context c_t and step k, the prediction W_k c_t must pick z_{t+k} of the same sequence
/// out of it and <see cref="CpcModelOptions.Negatives"/> encodings drawn from other sequences of the batch (and, with
/// <see cref="CpcModelOptions.SameSequenceNegatives"/>, other steps of its own). The loss is the mean over k of the
/// cross entropy with the positive in column 0; the accuracy per k (positive scored highest) is reported.
/// </summary>
public static class CpcLoss
{
    /// <summary>The InfoNCE of predictions [M, D] against their positives [M, D] and negatives [M, N, D]: mean over M.</summary>
    public static Tensor InfoNce(Tensor predictions, Tensor positives, Tensor negatives, out Tensor correct)
    {
        using var scope = NewDisposeScope();
        var pos = (predictions * positives).sum(1, keepdim: true);                      // [M, 1]
        var neg = negatives.bmm(predictions.unsqueeze(2)).squeeze(2);                   // [M, N]
        var logits = cat([pos, neg], 1);
        var target = zeros(logits.shape[0], dtype: ScalarType.Int64, device: logits.device);
        correct = logits.argmax(1).eq(0).MoveToOuterDisposeScope();
        return nn.functional.cross_entropy(logits, target).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The loss over all steps ahead for encodings z [B, T, D] and contexts c [B, T, H]; <paramref name="accuracy"/>
    /// gets the accuracy per k (index k − 1; NaN where T ≤ k). Negatives are drawn with <paramref name="generator"/>.
    /// </summary>
    public static Tensor Compute(CpcModel model, Tensor z, Tensor c, Generator? generator, out double[] accuracy)
    {
        var o = model.Options;
        long b = z.shape[0], t = z.shape[1], d = z.shape[2];
        if (!o.SameSequenceNegatives && b < 2) throw new ArgumentException("CPC with negatives from other sequences needs at least 2 sequences per batch");
        accuracy = new double[o.PredictionSteps];
        Array.Fill(accuracy, double.NaN);
        using var scope = NewDisposeScope();
        var pool = z.reshape(b * t, d);
        var losses = new List<Tensor>();
        for (int k = 1; k <= o.PredictionSteps; k++)
        {
            long steps = t - k;
            if (steps < 1) break;
            var pred = model.Predictors[k - 1].forward(c[.., ..(int)steps]).reshape(b * steps, d);
            var positives = z[.., k..].reshape(b * steps, d);
            var negIndex = NegativeIndices(b, t, steps, k, o, generator, z.device);          // [M, N] into pool
            var negatives = pool.index_select(0, negIndex.reshape(-1)).reshape(b * steps, o.Negatives, d);
            losses.Add(InfoNce(pred, positives, negatives, out var correct));
            accuracy[k - 1] = correct.to_type(ScalarType.Float32).mean().item<float>();
        }
        if (losses.Count == 0) throw new ArgumentException($"a window of {t} encoded steps is too short to predict even one step ahead");
        return stack(losses).mean().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// For each anchor (sequence i, step s) predicting step s + k: <see cref="CpcModelOptions.Negatives"/> flat indices
    /// (sequence × T + step) of other sequences, or of any sequence other than the positive itself.
    /// </summary>
    internal static Tensor NegativeIndices(long b, long t, long steps, int k, CpcModelOptions o, Generator? generator, Device device)
    {
        long m = b * steps;
        var anchorSeq = arange(b, dtype: ScalarType.Int64, device: device).repeat_interleave(steps).unsqueeze(1); // [M, 1]
        if (!o.SameSequenceNegatives)
        {
            var shift = randint(1, b, [m, o.Negatives], generator: generator, dtype: ScalarType.Int64, device: device);
            var seq = (anchorSeq + shift).remainder(b);
            var step = randint(0, t, [m, o.Negatives], generator: generator, dtype: ScalarType.Int64, device: device);
            return seq * t + step;
        }
        var positive = anchorSeq * t + arange(steps, dtype: ScalarType.Int64, device: device).repeat(b).unsqueeze(1) + k; // [M, 1]
        var draw = randint(0, b * t - 1, [m, o.Negatives], generator: generator, dtype: ScalarType.Int64, device: device);
        return draw + draw.ge(positive).to_type(ScalarType.Int64); // skip the positive itself
    }
}
