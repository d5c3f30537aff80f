namespace Contrastive.Core;

/// <summary>
/// Where a training loop takes its batches from: the input pipeline (Contrastive.Batching's InputPipeline), or anything
/// else that fills <see cref="Batch"/>es, such as a test's or a library user's own source.
/// </summary>
public interface IBatchSource
{
    /// <summary>The batches in order; the consumer disposes each lease when done with it.</summary>
    IAsyncEnumerable<BatchLease> ReadAllAsync(CancellationToken ct = default);

    /// <summary>
    /// The first <paramref name="count"/> bad samples in read order (a batch's <see cref="Batch.SkippedBefore"/>), per shard:
    /// the bad samples of the data a consumer has taken.
    /// </summary>
    IReadOnlyDictionary<string, long> SkippedBefore(long count);

    /// <summary>A line on the input side's state for a progress log (per-stage rates, queues), or null.</summary>
    string? Describe() => null;
}
