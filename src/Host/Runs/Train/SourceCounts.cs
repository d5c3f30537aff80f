using System.Runtime.CompilerServices;
using Contrastive.Ingest;

namespace Contrastive.Host;

/// <summary>
/// Weighted sources: counts the samples of each source in the batches the trainer takes (a mixed sample's index keeps its
/// source, <see cref="WeightedDataset.SourceOf"/>), passing the batches on unchanged.
/// </summary>
internal sealed class SourceCounts(IBatchSource inner, int sources) : IBatchSource
{
    private readonly long[] _counts = new long[sources];

    /// <summary>Samples of each source in the batches taken so far.</summary>
    public IReadOnlyList<long> Counts => [.. Enumerable.Range(0, _counts.Length).Select(i => Interlocked.Read(ref _counts[i]))];

    public async IAsyncEnumerable<BatchLease> ReadAllAsync([EnumeratorCancellation] CancellationToken ct = default)
    {
        await foreach (var lease in inner.ReadAllAsync(ct).ConfigureAwait(false))
        {
            var batch = lease.Batch;
            for (int i = 0; i < batch.Count; i++)
            {
                int s = WeightedDataset.SourceOf(batch.Indices[i]).Source;
                if ((uint)s < (uint)_counts.Length) Interlocked.Increment(ref _counts[s]);
            }
            yield return lease;
        }
    }

    public IReadOnlyDictionary<string, long> SkippedBefore(long count) => inner.SkippedBefore(count);

    public string? Describe() => inner.Describe();
}
