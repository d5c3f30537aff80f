using Contrastive.Batching;
using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>Collects encoder features and labels over single-view evaluation batches, for kNN or a probe.</summary>
public sealed class FeatureExtractor(Encoder? encoder, Device device) : IDisposable
{
    /// <summary>Raw-pixel features: each image's first view as floats in [0, 1], flattened (the baseline a learned encoder must beat).</summary>
    public static FeatureExtractor Pixels() => new(null, CPU);

    private readonly List<Tensor> _features = [];
    private readonly List<long> _labels = [];

    public int Count => _labels.Count;

    public void Add(Batch batch)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        if (encoder is null)
        {
            long per = batch.ViewBytes;
            var raw = new float[batch.Count * per];
            var px = batch.Pixels.AsSpan(0, (int)(batch.Count * per));
            for (int i = 0; i < px.Length; i++) raw[i] = px[i] / 255f;
            _features.Add(tensor(raw, [batch.Count, per]).MoveToOuterDisposeScope());
            for (int i = 0; i < batch.Count; i++) _labels.Add(batch.Labels[i]);
            return;
        }
        encoder.eval();
        var x = ImageInput.ToTensor(batch, device);
        var f = encoder.forward(x).to(CPU);
        _features.Add(f.MoveToOuterDisposeScope());
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
