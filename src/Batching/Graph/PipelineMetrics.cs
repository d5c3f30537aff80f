using System.Diagnostics.Metrics;

namespace Contrastive.Batching;

/// <summary>
/// Publishes a pipeline's <see cref="PipelineStats"/> on the meter "Contrastive.Pipeline" (System.Diagnostics.Metrics):
/// counters per stage (samples, bytes, views, batches, bad samples), the consumer's wait per batch, queue
/// occupancy per block and the starvation fraction. Any MeterListener, dotnet-counters or OpenTelemetry can read them.
/// </summary>
public sealed class PipelineMetrics : IDisposable
{
    public const string MeterName = "Contrastive.Pipeline";

    private readonly Meter _meter;
    private readonly Histogram<double> _waitPerBatch;
    private readonly KeyValuePair<string, object?> _tag;

    public PipelineMetrics(PipelineStats stats, string pipeline)
    {
        _meter = new Meter(MeterName);
        var tag = new KeyValuePair<string, object?>("pipeline", pipeline);
        _tag = tag;
        _waitPerBatch = _meter.CreateHistogram<double>("contrastive.pipeline.consumer_wait_per_batch", "ms", "How long the consumer waited for each batch");
        _meter.CreateObservableCounter("contrastive.pipeline.samples_read", () => new Measurement<long>(stats.SamplesRead, tag), "{sample}", "Samples taken up by the workers");
        _meter.CreateObservableCounter("contrastive.pipeline.bytes_read", () => new Measurement<long>(stats.BytesRead, tag), "By", "Encoded bytes taken up by the workers");
        _meter.CreateObservableCounter("contrastive.pipeline.images_decoded", () => new Measurement<long>(stats.Decoded, tag), "{image}", "Images decoded");
        _meter.CreateObservableCounter("contrastive.pipeline.views_written", () => new Measurement<long>(stats.Views, tag), "{view}", "Views written into batch slots");
        _meter.CreateObservableCounter("contrastive.pipeline.batches", () => new Measurement<long>(stats.Batches, tag), "{batch}", "Batches published");
        _meter.CreateObservableCounter("contrastive.pipeline.bad_samples", () => new Measurement<long>(stats.BadSamples, tag), "{sample}", "Samples skipped as undecodable");
        _meter.CreateObservableCounter("contrastive.pipeline.bad_samples_by_shard", () => BadByShard(stats, tag), "{sample}", "Samples skipped as undecodable, per shard (shards with any)");
        _meter.CreateObservableCounter("contrastive.pipeline.decode_time", () => new Measurement<double>(stats.DecodeTime.TotalSeconds, tag), "s", "Worker time spent decoding");
        _meter.CreateObservableCounter("contrastive.pipeline.augment_time", () => new Measurement<double>(stats.AugmentTime.TotalSeconds, tag), "s", "Worker time spent making views");
        _meter.CreateObservableCounter("contrastive.pipeline.consumer_wait", () => new Measurement<double>(stats.ConsumerWait.TotalSeconds, tag), "s", "Time the consumer waited for batches");
        _meter.CreateObservableGauge("contrastive.pipeline.queue_occupancy", () => Occupancy(stats, tag), "{item}", "Items waiting in each bounded queue");
        _meter.CreateObservableGauge("contrastive.pipeline.starvation", () => new Measurement<double>(stats.Snapshot().Starvation, tag), "1", "Consumer wait / wall time since start");
    }

    private static IEnumerable<Measurement<int>> Occupancy(PipelineStats stats, KeyValuePair<string, object?> tag)
    {
        var q = stats.Snapshot().Queues;
        yield return new Measurement<int>(q.Chunks, tag, new("queue", "chunks"));
        yield return new Measurement<int>(q.WorkerInput, tag, new("queue", "workers"));
        yield return new Measurement<int>(q.Prefetch, tag, new("queue", "prefetch"));
        yield return new Measurement<int>(q.LeasesOut, tag, new("queue", "leases"));
    }

    private static IEnumerable<Measurement<long>> BadByShard(PipelineStats stats, KeyValuePair<string, object?> tag)
    {
        foreach (var (shard, n) in stats.BadByShard) yield return new Measurement<long>(n, tag, new("shard", shard));
    }

    /// <summary>Records one batch's wait (a no-op unless something listens).</summary>
    internal void RecordWait(double milliseconds) => _waitPerBatch.Record(milliseconds, _tag);

    public void Dispose() => _meter.Dispose();
}
