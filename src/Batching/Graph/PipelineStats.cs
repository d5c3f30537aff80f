using System.Collections.Concurrent;

namespace Contrastive.Batching;

/// <summary>Counters of one pipeline run; safe to read from any thread while it runs.</summary>
public sealed class PipelineStats
{
    private long _chunks, _samplesRead, _samplesDone, _badSamples, _batches, _consumerWaitTicks;
    private readonly ConcurrentQueue<string> _badExamples = new();

    public long Chunks => Interlocked.Read(ref _chunks);

    public long SamplesRead => Interlocked.Read(ref _samplesRead);

    /// <summary>Samples decoded and written into a batch.</summary>
    public long SamplesDone => Interlocked.Read(ref _samplesDone);

    /// <summary>Samples skipped because their bytes were empty or undecodable.</summary>
    public long BadSamples => Interlocked.Read(ref _badSamples);

    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Time the consumer spent waiting for a batch.</summary>
    public TimeSpan ConsumerWait => TimeSpan.FromTicks(Interlocked.Read(ref _consumerWaitTicks));

    /// <summary>The first few bad samples, each "where: why".</summary>
    public IReadOnlyCollection<string> BadExamples => _badExamples;

    internal void Chunk() => Interlocked.Increment(ref _chunks);

    internal void Read() => Interlocked.Increment(ref _samplesRead);

    internal void Done() => Interlocked.Increment(ref _samplesDone);

    internal void Batch() => Interlocked.Increment(ref _batches);

    internal void Waited(TimeSpan t) => Interlocked.Add(ref _consumerWaitTicks, t.Ticks);

    internal long Bad(string where, string why)
    {
        long n = Interlocked.Increment(ref _badSamples);
        if (n <= 20) _badExamples.Enqueue($"{where}: {why}");
        return n;
    }
}
