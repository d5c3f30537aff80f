using Contrastive.Batching;
using Contrastive.Ingest;
using Contrastive.Training;
using static TorchSharp.torch;

namespace Contrastive.Host;

/// <summary>
/// The one evaluation of encoders that `train` runs at its end and `eval` runs on a checkpoint: the evaluation view of a
/// bank split and a query split through several embeddings at once (the trained encoder, the same network at random init,
/// raw pixels: a null embedding), then weighted kNN top-1 and a linear probe's top-1 for each. Owns the feature tensors.
/// </summary>
internal sealed class EvaluationFeatures : IDisposable
{
    private readonly (Tensor Features, Tensor Labels)[] _bank, _queries;

    private EvaluationFeatures((Tensor Features, Tensor Labels)[] bank, (Tensor Features, Tensor Labels)[] queries) => (_bank, _queries) = (bank, queries);

    /// <summary>Labelled samples in the bank (the probe's training set) and among the queries.</summary>
    public long BankCount => _bank[0].Labels.shape[0];

    public long QueryCount => _queries[0].Labels.shape[0];

    /// <summary>Reads each split once through every embedding (<paramref name="bankLimit"/>: at most this many bank samples).</summary>
    public static async Task<EvaluationFeatures> EmbedAsync(IImageDataset bank, ReadPlan bankPlan, long bankLimit, IImageDataset queries, ReadPlan queryPlan,
        ISampleProcessor view, BatchingOptions batching, IReadOnlyList<Func<Batch, Tensor>?> embeds, CancellationToken ct, Action<int>? progress = null,
        ICaptionEncoder? captions = null, TraceRecorder? trace = null)
    {
        (Tensor, Tensor)[] b;
        using (trace.Span(TraceRecorder.TrainerLane, "evaluation: feature bank"))
            b = await FeaturePass.RunAsync(bank, bankPlan, bankLimit, view, batching, embeds, ct, progress, captions).ConfigureAwait(false);
        try
        {
            using (trace.Span(TraceRecorder.TrainerLane, "evaluation: held-out features"))
                return new EvaluationFeatures(b, await FeaturePass.RunAsync(queries, queryPlan, long.MaxValue, view, batching, embeds, ct, progress, captions).ConfigureAwait(false));
        }
        catch
        {
            Dispose(b);
            throw;
        }
    }

    /// <summary>Weighted kNN top-1 of embedding <paramref name="e"/>: the bank's features vote for each query.</summary>
    public double Knn(int e, EvaluationOptions o) => KnnClassifier.Top1(_bank[e].Features, _bank[e].Labels, _queries[e].Features, _queries[e].Labels, o.KnnK, o.KnnTemperature);

    /// <summary>Top-1 of a linear classifier fitted on embedding <paramref name="e"/>'s frozen bank features.</summary>
    public double Probe(int e, EvaluationOptions o, long seed) =>
        LinearProbe.Top1(_bank[e].Features, _bank[e].Labels, _queries[e].Features, _queries[e].Labels, o.ProbeEpochs, seed: seed);

    public void Dispose()
    {
        Dispose(_bank);
        Dispose(_queries);
    }

    private static void Dispose((Tensor Features, Tensor Labels)[] sets)
    {
        foreach (var (f, l) in sets) { f.Dispose(); l.Dispose(); }
    }
}
