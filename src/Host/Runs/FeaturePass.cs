using Contrastive.Augment;
using Contrastive.Batching;
using Contrastive.Ingest;
using Contrastive.Training;
using TorchSharp;

namespace Contrastive.Host;

/// <summary>
/// Runs the evaluation view of a dataset split through one or more encoders (null: raw pixels), decoding each image once.
/// <paramref name="cropFraction"/> is the centre crop's share of the shorter side (torchvision's 224/256 = 0.875; 1: the whole image).
/// </summary>
internal static class FeaturePass
{
    public static async Task<(TorchSharp.torch.Tensor Features, TorchSharp.torch.Tensor Labels)[]> RunAsync(
        IImageDataset data, ReadPlan plan, long limit, int size, BatchingOptions batching, IReadOnlyList<Encoder?> encoders,
        torch.Device device, CancellationToken ct, double cropFraction = 0.875)
    {
        var options = new BatchingOptions
        {
            BatchSize = Math.Min(256, Math.Max(2, batching.BatchSize)), Workers = batching.Workers, Prefetch = batching.Prefetch,
            ChunkQueue = batching.ChunkQueue, MaxBadSampleFraction = batching.MaxBadSampleFraction, BadSampleAllowance = batching.BadSampleAllowance,
        };
        var extractors = encoders.Select(e => e is null ? FeatureExtractor.Pixels() : new FeatureExtractor(e, device)).ToArray();
        try
        {
            await using var pipeline = InputPipeline.Start(Limit(data.ReadAsync(plan, ct), limit), options,
                new PipelineSettings(new EvalTransform(size, cropFraction), plan.Seed, DropLast: false), ct);
            await foreach (var lease in pipeline.ReadAllAsync(ct))
            {
                using (lease)
                    foreach (var x in extractors) x.Add(lease.Batch);
            }
            return extractors.Select(x => x.Result()).ToArray();
        }
        finally
        {
            foreach (var x in extractors) x.Dispose();
        }
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
