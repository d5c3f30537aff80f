namespace Contrastive.Host;

/// <summary>
/// The pipeline's per-stage figures over a window, from two <see cref="ProfilePoint"/>s (the same counters bench's tables
/// print): rates, time each, busy shares and mean queue occupancy.
/// </summary>
internal sealed record StageFigures
{
    public double Seconds { get; init; }
    public double ImagesPerSec { get; init; }
    public double ReadImagesPerSec { get; init; }
    public double ReadMbPerSec { get; init; }
    public double ReadMsPerChunk { get; init; }
    public double SamplesPerChunk { get; init; }
    public double ReaderBusy { get; init; }
    public double DecodedPerSec { get; init; }
    public double DecodeMsEach { get; init; }
    public double DecodeBusy { get; init; }
    public double ViewsPerSec { get; init; }
    public double AugmentMsEach { get; init; }
    public double AugmentBusy { get; init; }
    public double BatchesPerSec { get; init; }
    /// <summary>Share of the window the consumer (the trainer, bench's consumer) waited for a batch.</summary>
    public double Starvation { get; init; }
    public double ConsumerMsPerBatch { get; init; }
    public double ChunkQueueFill { get; init; }
    public double WorkerQueueFill { get; init; }
    public double PrefetchFill { get; init; }
    public double ChunkQueueAvg { get; init; }
    public double WorkerQueueAvg { get; init; }
    public double PrefetchAvg { get; init; }
    public int ChunkQueueCapacity { get; init; }
    public int WorkerQueueCapacity { get; init; }
    public int PrefetchCapacity { get; init; }
    public long BadSamples { get; init; }
    public double PeakWorkingSetMb { get; init; }

    public double WorkerBusy => DecodeBusy + AugmentBusy;

    /// <summary>The figures of the window <paramref name="points"/> spans (first to last); null with fewer than two points or no time between them.</summary>
    public static StageFigures? Over(IReadOnlyList<ProfilePoint> points, int workers)
    {
        if (points.Count < 2) return null;
        var (a, b) = (points[0], points[^1]);
        double s = b.Seconds - a.Seconds;
        if (s <= 0) return null;
        int w = Math.Max(1, workers);
        long decoded = b.Decoded - a.Decoded, views = b.Views - a.Views, chunks = b.Chunks - a.Chunks, consumed = b.ConsumerBatches - a.ConsumerBatches;
        double wait = b.WaitSeconds - a.WaitSeconds;
        static double Mean(IEnumerable<double> v) => v.DefaultIfEmpty(0).Average();
        var inside = points.Skip(1).ToList();
        return new StageFigures
        {
            Seconds = s,
            ImagesPerSec = (b.SamplesDone - a.SamplesDone) / s,
            ReadImagesPerSec = (b.SamplesRead - a.SamplesRead) / s,
            ReadMbPerSec = (b.BytesRead - a.BytesRead) / 1e6 / s,
            ReadMsPerChunk = chunks == 0 ? 0 : (b.ReadSeconds - a.ReadSeconds) * 1000 / chunks,
            SamplesPerChunk = chunks == 0 ? 0 : (double)(b.SamplesRead - a.SamplesRead) / chunks,
            ReaderBusy = Math.Clamp((b.ReadSeconds - a.ReadSeconds) / s, 0, 1),
            DecodedPerSec = decoded / s,
            DecodeMsEach = decoded == 0 ? 0 : (b.DecodeSeconds - a.DecodeSeconds) * 1000 / decoded,
            DecodeBusy = Math.Clamp((b.DecodeSeconds - a.DecodeSeconds) / (s * w), 0, 1),
            ViewsPerSec = views / s,
            AugmentMsEach = views == 0 ? 0 : (b.AugmentSeconds - a.AugmentSeconds) * 1000 / views,
            AugmentBusy = Math.Clamp((b.AugmentSeconds - a.AugmentSeconds) / (s * w), 0, 1),
            BatchesPerSec = (b.Batches - a.Batches) / s,
            Starvation = Math.Clamp(wait / s, 0, 1),
            ConsumerMsPerBatch = consumed == 0 ? 0 : (s - wait) * 1000 / consumed,
            ChunkQueueAvg = Mean(inside.Select(p => (double)p.QueueChunks)),
            WorkerQueueAvg = Mean(inside.Select(p => (double)p.QueueWorkers)),
            PrefetchAvg = Mean(inside.Select(p => (double)p.QueuePrefetch)),
            ChunkQueueFill = Mean(inside.Select(p => Fill(p.QueueChunks, p.QueueChunksCapacity))),
            WorkerQueueFill = Mean(inside.Select(p => Fill(p.QueueWorkers, p.QueueWorkersCapacity))),
            PrefetchFill = Mean(inside.Select(p => Fill(p.QueuePrefetch, p.QueuePrefetchCapacity))),
            ChunkQueueCapacity = b.QueueChunksCapacity, WorkerQueueCapacity = b.QueueWorkersCapacity, PrefetchCapacity = b.QueuePrefetchCapacity,
            BadSamples = b.BadSamples - a.BadSamples,
            PeakWorkingSetMb = points.Max(p => p.WorkingSetMb),
        };
    }

    internal static double Fill(int n, int capacity) => capacity <= 0 ? 0 : Math.Clamp((double)n / capacity, 0, 1);
}
