
using Contrastive.Ingest;

namespace Contrastive.Augment;

/// <summary>
/// Measures batch diversity on the consumer side: distinct labels per batch against the expectation for uniform random
/// sampling of the labels seen so far (so early figures on class-sorted data understate what uniform sampling would
/// give), and the largest share of a batch from one read unit. No allocation per batch once the labels have been seen.
/// </summary>
public sealed class BatchDiversityMeter
{
    private readonly Dictionary<long, long> _labelCounts = [];
    private long[] _scratch = new long[256];
    private long _batches, _labelledBatches, _samples;
    private double _distinct, _largestShare;
    private int _batchSize;

    /// <summary>An id of a read unit (shard path and part) within this process, as <see cref="Batch.Sources"/> holds them.</summary>
    public static long SourceId(string shard, int part) => ((long)shard.GetHashCode() << 24) ^ part;

    public void Add(Batch batch)
    {
        int n = batch.Count;
        if (n == 0) return;
        if (_scratch.Length < n) _scratch = new long[batch.Capacity];
        _batchSize = Math.Max(_batchSize, n);
        var span = _scratch.AsSpan(0, n);
        batch.Sources.AsSpan(0, n).CopyTo(span);
        span.Sort();
        _largestShare += (double)LongestRun(span) / n;
        int labelled = 0;
        for (int i = 0; i < n; i++)
        {
            long label = batch.Labels[i];
            if (label == Batch.NoLabel) continue;
            _scratch[labelled++] = label;
            _labelCounts[label] = _labelCounts.GetValueOrDefault(label) + 1;
        }
        if (labelled > 0)
        {
            var labels = _scratch.AsSpan(0, labelled);
            labels.Sort();
            int distinct = 1;
            for (int i = 1; i < labels.Length; i++) if (labels[i] != labels[i - 1]) distinct++;
            _distinct += distinct;
            _labelledBatches++;
        }
        _samples += n;
        _batches++;
    }

    /// <summary>The figures over every batch added so far.</summary>
    public DiversityReport Snapshot()
    {
        if (_batches == 0) return new DiversityReport(0, 0, 0, 0, 0);
        double uniform = _labelledBatches > 0 ? BatchDiversity.ExpectedDistinct([.. _labelCounts.Values], _batchSize) : 0;
        return new DiversityReport(_batches, _labelledBatches > 0 ? _distinct / _labelledBatches : 0, uniform, _labelCounts.Count, _largestShare / _batches);
    }

    private static int LongestRun(ReadOnlySpan<long> sorted)
    {
        int best = 1, run = 1;
        for (int i = 1; i < sorted.Length; i++)
        {
            run = sorted[i] == sorted[i - 1] ? run + 1 : 1;
            if (run > best) best = run;
        }
        return best;
    }
}
