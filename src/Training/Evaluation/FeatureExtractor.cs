using Contrastive.Augment;
using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// Collects features and labels over single-view evaluation batches, for kNN or a probe: a method's embedding
/// (<see cref="IContrastiveMethod.Embed"/>), an encoder's, or raw pixels.
/// </summary>
public sealed class FeatureExtractor(Func<Batch, Tensor>? embed) : IDisposable
{
    /// <summary>An encoder's features of the first view, on <paramref name="device"/>.</summary>
    public FeatureExtractor(Encoder encoder, Device device) : this(b => ImageModels.Embed(encoder, b, device))
    {
    }

    /// <summary>Raw-pixel features: each image's first view as floats in [0, 1], flattened (the baseline a learned encoder must beat).</summary>
    public static FeatureExtractor Pixels() => new((Func<Batch, Tensor>?)null);

    private readonly List<Tensor> _features = [];
    private readonly List<long> _labels = [];

    public int Count => _labels.Count;

    public void Add(Batch batch)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        if (embed is null)
        {
            long per = batch.ViewBytes;
            var raw = new float[batch.Count * per];
            var px = batch.Pixels.AsSpan(0, (int)(batch.Count * per));
            for (int i = 0; i < px.Length; i++) raw[i] = px[i] / 255f;
            _features.Add(tensor(raw, [batch.Count, per]).MoveToOuterDisposeScope());
            for (int i = 0; i < batch.Count; i++) _labels.Add(batch.Labels[i]);
            return;
        }
        _features.Add(embed(batch).to(CPU).MoveToOuterDisposeScope());
        for (int i = 0; i < batch.Count; i++) _labels.Add(batch.Labels[i]);
    }

    /// <summary>Features [N, D] and labels [N] on the CPU; the caller disposes them.</summary>
    public (Tensor Features, Tensor Labels) Result()
    {
        if (_features.Count == 0) throw new InvalidOperationException("no samples were collected");
        return (cat(_features, 0), tensor(_labels.ToArray()));
    }

    public void Dispose()
    {
        foreach (var t in _features) t.Dispose();
        _features.Clear();
    }
}
