using System.Globalization;
using System.Text;

namespace Contrastive.Batching;

/// <summary>The pipeline's counters at one instant. <see cref="Since"/> gives an interval's deltas.</summary>
public readonly record struct PipelineSnapshot(
    TimeSpan Elapsed, long Chunks, long SamplesRead, long BytesRead, long Decoded, TimeSpan DecodeTime, TimeSpan AugmentTime,
    long Views, long ViewBytes, long SamplesDone, long BadSamples, long Batches, long ConsumerBatches, TimeSpan ConsumerWait,
    QueueOccupancy Queues, long DecodeAllocated = 0, long AugmentAllocated = 0, TimeSpan ReadTime = default)
{
    /// <summary>The counts of the interval from <paramref name="earlier"/> to this one (queues as of now).</summary>
    public PipelineSnapshot Since(PipelineSnapshot earlier) => new(
        Elapsed - earlier.Elapsed, Chunks - earlier.Chunks, SamplesRead - earlier.SamplesRead, BytesRead - earlier.BytesRead,
        Decoded - earlier.Decoded, DecodeTime - earlier.DecodeTime, AugmentTime - earlier.AugmentTime, Views - earlier.Views,
        ViewBytes - earlier.ViewBytes, SamplesDone - earlier.SamplesDone, BadSamples - earlier.BadSamples, Batches - earlier.Batches,
        ConsumerBatches - earlier.ConsumerBatches, ConsumerWait - earlier.ConsumerWait, Queues,
        DecodeAllocated - earlier.DecodeAllocated, AugmentAllocated - earlier.AugmentAllocated, ReadTime - earlier.ReadTime);

    private double Seconds => Math.Max(1e-9, Elapsed.TotalSeconds);

    public double ReadSamplesPerSecond => SamplesRead / Seconds;

    public double ReadMegabytesPerSecond => BytesRead / 1e6 / Seconds;

    public double DecodedPerSecond => Decoded / Seconds;

    public double ViewsPerSecond => Views / Seconds;

    public double ViewMegabytesPerSecond => ViewBytes / 1e6 / Seconds;

    public double BatchesPerSecond => Batches / Seconds;

    /// <summary>Worker milliseconds per decoded image.</summary>
    public double DecodeMillisecondsEach => Decoded == 0 ? 0 : DecodeTime.TotalMilliseconds / Decoded;

    /// <summary>Worker milliseconds per view.</summary>
    public double AugmentMillisecondsEach => Views == 0 ? 0 : AugmentTime.TotalMilliseconds / Views;

    /// <summary>Managed bytes allocated per decoded image, by the decode step.</summary>
    public double DecodeBytesAllocatedEach => Decoded == 0 ? 0 : (double)DecodeAllocated / Decoded;

    /// <summary>Managed bytes allocated per view, by the augment step.</summary>
    public double AugmentBytesAllocatedEach => Views == 0 ? 0 : (double)AugmentAllocated / Views;

    /// <summary>Fraction of the interval the reader spent getting chunks (near 1: reading is the limit).</summary>
    public double ReaderBusy => Math.Clamp(ReadTime.TotalSeconds / Seconds, 0, 1);

    /// <summary>Fraction of the interval the consumer waited for data.</summary>
    public double Starvation => Math.Clamp(ConsumerWait.TotalSeconds / Seconds, 0, 1);

    /// <summary>One line for a log: per-stage rates, queue occupancy, starvation.</summary>
    public string Summary()
    {
        var q = Queues;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"read {ReadSamplesPerSecond:F0} img/s ({ReadMegabytesPerSecond:F1} MB/s) | ");
        sb.Append(CultureInfo.InvariantCulture, $"decode {DecodedPerSecond:F0}/s ({DecodeMillisecondsEach:F2} ms each) | ");
        sb.Append(CultureInfo.InvariantCulture, $"augment {ViewsPerSecond:F0} views/s ({AugmentMillisecondsEach:F2} ms each) | ");
        sb.Append(CultureInfo.InvariantCulture, $"batches {BatchesPerSecond:F2}/s | ");
        sb.Append(CultureInfo.InvariantCulture, $"queues chunks {q.Chunks}/{q.ChunkCapacity} workers {q.WorkerInput}/{q.WorkerCapacity} prefetch {q.Prefetch}/{q.PrefetchCapacity} leases {q.LeasesOut}/{q.Leases} | ");
        sb.Append(CultureInfo.InvariantCulture, $"starvation {Starvation:P1} | bad {BadSamples}");
        return sb.ToString();
    }
}
