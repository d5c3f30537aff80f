using Contrastive.Augment;
using Contrastive.Batching;
using Contrastive.Ingest;
using Contrastive.Training;
using TorchSharp;

namespace Contrastive.Host;

/// <summary>
/// Runs the evaluation view of a dataset split (an <see cref="EvalTransform"/> for images, an un-augmented window for series)
/// through one or more embeddings (a method's <see cref="IContrastiveMethod.Embed"/>; null: raw pixels), reading each sample once.
/// </summary>
internal static class FeaturePass
{
    public static async Task<(TorchSharp.torch.Tensor Features, TorchSharp.torch.Tensor Labels)[]> RunAsync(
        IImageDataset data, ReadPlan plan, long limit, ISampleProcessor view, BatchingOptions batching, IReadOnlyList<Func<Batch, TorchSharp.torch.Tensor>?> embeds,
        CancellationToken ct, Action<int>? progress = null, ICaptionEncoder? captions = null)
    {
        var extractors = embeds.Select(e => new FeatureExtractor(e)).ToArray();
        try
        {
            await foreach (var lease in BatchesAsync(data, plan, limit, view, batching, ct, captions).ConfigureAwait(false))
            {
                using (lease)
                {
                    foreach (var x in extractors) x.Add(lease.Batch);
                    progress?.Invoke(lease.Batch.Count);
                }
            }
            return extractors.Select(x => x.Result()).ToArray();
        }
        finally
        {
            foreach (var x in extractors) x.Dispose();
        }
    }

    /// <summary>
    /// The evaluation view's batches (at most 256 samples each) of the chunks of <paramref name="plan"/> in their read order, stopping after the
    /// chunk that reaches <paramref name="limit"/> samples; each lease is the caller's to dispose.
    /// </summary>
    public static async IAsyncEnumerable<BatchLease> BatchesAsync(IImageDataset data, ReadPlan plan, long limit, ISampleProcessor view, BatchingOptions batching,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct, ICaptionEncoder? captions = null)
    {
        var options = new BatchingOptions
        {
            BatchSize = Math.Min(256, Math.Max(2, batching.BatchSize)), Workers = batching.Workers, Prefetch = batching.Prefetch,
            ChunkQueue = batching.ChunkQueue, MaxBadSampleFraction = batching.MaxBadSampleFraction, BadSampleAllowance = batching.BadSampleAllowance,
            // The features in the read order whatever the workers' timing: the probe's full-batch sums, and so its figures,
            // are then the same from one evaluation of the same encoder to the next.
            Deterministic = true,
        };
        // With a caption encoder the batches carry each sample's tokens too (image-text retrieval).
        await using var pipeline = InputPipeline.Start(Limit(data.ReadAsync(plan with { Captions = captions is not null }, ct), limit), options,
            new PipelineSettings(view, plan.Seed, DropLast: false, Name: "eval") { Captions = captions }, ct);
        await foreach (var lease in pipeline.ReadAllAsync(ct).ConfigureAwait(false)) yield return lease;
    }

    private static async IAsyncEnumerable<SampleChunk> Limit(IAsyncEnumerable<SampleChunk> source, long limit)
    {
        long seen = 0;
        await foreach (var chunk in source)
        {
            if (seen >= limit) yield break;
            seen += chunk.Count;
            yield return chunk;
        }
    }
}
