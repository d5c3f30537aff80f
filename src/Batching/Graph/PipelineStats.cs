using System.Collections.Concurrent;
using System.Diagnostics;

namespace Contrastive.Batching;

/// <summary>
/// Counters of one pipeline run, per stage; safe to read from any thread while it runs. The same figures are
/// published on the <see cref="PipelineMetrics.MeterName"/> meter and summarised by <see cref="Snapshot"/>.
/// </summary>
public sealed class PipelineStats
{
    private long _chunks, _samplesRead, _bytesRead, _decoded, _decodeTicks, _augmentTicks, _views, _viewBytes, _samplesDone;
    private long _badSamples, _batches, _consumerWaitTicks, _consumerBatches, _decodeAlloc, _augmentAlloc, _readTicks;
    private readonly ConcurrentQueue<string> _badExamples = new();
    private readonly ConcurrentDictionary<string, long> _badByShard = new(StringComparer.Ordinal);
    private readonly long _started = Stopwatch.GetTimestamp();

    /// <summary>Chunks (row groups) handed to the workers.</summary>
    public long Chunks => Interlocked.Read(ref _chunks);

    /// <summary>Samples the workers took up (read stage).</summary>
    public long SamplesRead => Interlocked.Read(ref _samplesRead);

    /// <summary>Encoded bytes of those samples.</summary>
    public long BytesRead => Interlocked.Read(ref _bytesRead);

    /// <summary>Images decoded successfully.</summary>
    public long Decoded => Interlocked.Read(ref _decoded);

    /// <summary>Views written into batch slots.</summary>
    public long Views => Interlocked.Read(ref _views);

    /// <summary>Samples decoded and written into a batch.</summary>
    public long SamplesDone => Interlocked.Read(ref _samplesDone);

    /// <summary>Samples skipped because their bytes were empty or undecodable.</summary>
    public long BadSamples => Interlocked.Read(ref _badSamples);

    /// <summary>Batches published to the prefetch queue.</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Worker time spent decoding, summed over workers.</summary>
    public TimeSpan DecodeTime => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _decodeTicks));

    /// <summary>Worker time spent making views, summed over workers.</summary>
    public TimeSpan AugmentTime => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _augmentTicks));

    /// <summary>Time the reader spent getting chunks from the source (reading and, for shard data, the shuffle buffer).</summary>
    public TimeSpan ReadTime => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _readTicks));

    /// <summary>Managed bytes the workers allocated while decoding (all images).</summary>
    public long DecodeAllocated => Interlocked.Read(ref _decodeAlloc);

    /// <summary>Managed bytes the workers allocated while making views (all views).</summary>
    public long AugmentAllocated => Interlocked.Read(ref _augmentAlloc);

    /// <summary>Time the consumer spent waiting for a batch.</summary>
    public TimeSpan ConsumerWait => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _consumerWaitTicks));

    /// <summary>Batches the consumer received.</summary>
    public long ConsumerBatches => Interlocked.Read(ref _consumerBatches);

    /// <summary>Bad samples per shard (only shards that had any), sorted by shard.</summary>
    public IReadOnlyDictionary<string, long> BadByShard => new SortedDictionary<string, long>(_badByShard, StringComparer.Ordinal);

    /// <summary>The first few bad samples, each "where: why".</summary>
    public IReadOnlyCollection<string> BadExamples => _badExamples;

    /// <summary>Occupancy of the bounded queues, filled in by the pipeline that owns these stats.</summary>
    internal Func<QueueOccupancy>? Queues { get; set; }

    /// <summary>All counters at this instant; subtract two snapshots for the rates of an interval.</summary>
    public PipelineSnapshot Snapshot() => new(
        Stopwatch.GetElapsedTime(_started), Chunks, SamplesRead, BytesRead, Decoded, DecodeTime, AugmentTime, Views,
        Interlocked.Read(ref _viewBytes), SamplesDone, BadSamples, Batches, ConsumerBatches, ConsumerWait,
        Queues?.Invoke() ?? default, DecodeAllocated, AugmentAllocated, ReadTime);

    internal void Chunk(long readTicks)
    {
        Interlocked.Increment(ref _chunks);
        Interlocked.Add(ref _readTicks, readTicks);
    }

    internal void Read(int bytes)
    {
        Interlocked.Increment(ref _samplesRead);
        Interlocked.Add(ref _bytesRead, bytes);
    }

    internal void DecodedOne(long ticks, long allocated)
    {
        Interlocked.Increment(ref _decoded);
        Interlocked.Add(ref _decodeTicks, ticks);
        Interlocked.Add(ref _decodeAlloc, allocated);
    }

    internal void Augmented(int views, int sampleBytes, long ticks, long allocated)
    {
        Interlocked.Add(ref _augmentAlloc, allocated);
        Interlocked.Add(ref _views, views);
        Interlocked.Add(ref _viewBytes, sampleBytes);
        Interlocked.Add(ref _augmentTicks, ticks);
        Interlocked.Increment(ref _samplesDone);
    }

    internal void Batch() => Interlocked.Increment(ref _batches);

    internal void Waited(long ticks)
    {
        Interlocked.Add(ref _consumerWaitTicks, ticks);
        Interlocked.Increment(ref _consumerBatches);
    }

    internal long Bad(string shard, string where, string why)
    {
        _badByShard.AddOrUpdate(shard, 1, (_, v) => v + 1);
        long n = Interlocked.Increment(ref _badSamples);
        if (n <= 20) _badExamples.Enqueue($"{where}: {why}");
        return n;
    }
}
