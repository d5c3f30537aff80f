using System.Text.Json.Serialization;
using Contrastive.Batching;

namespace Contrastive.Host;

/// <summary>
/// The pipeline's counters at one instant (<see cref="PipelineSnapshot"/>, cumulative since the pipeline started) with the
/// queues and the process's memory: a line of pipeline.jsonl. Two points give an interval's rates and busy shares.
/// </summary>
internal sealed record ProfilePoint
{
    [JsonPropertyName("t")] public double Seconds { get; init; }
    [JsonPropertyName("chunks")] public long Chunks { get; init; }
    [JsonPropertyName("samples_read")] public long SamplesRead { get; init; }
    [JsonPropertyName("bytes_read")] public long BytesRead { get; init; }
    [JsonPropertyName("read_s")] public double ReadSeconds { get; init; }
    [JsonPropertyName("decoded")] public long Decoded { get; init; }
    [JsonPropertyName("decode_s")] public double DecodeSeconds { get; init; }
    [JsonPropertyName("views")] public long Views { get; init; }
    [JsonPropertyName("augment_s")] public double AugmentSeconds { get; init; }
    [JsonPropertyName("samples_done")] public long SamplesDone { get; init; }
    [JsonPropertyName("batches")] public long Batches { get; init; }
    [JsonPropertyName("consumer_batches")] public long ConsumerBatches { get; init; }
    [JsonPropertyName("wait_s")] public double WaitSeconds { get; init; }
    [JsonPropertyName("bad")] public long BadSamples { get; init; }
    [JsonPropertyName("q_chunks")] public int QueueChunks { get; init; }
    [JsonPropertyName("q_chunks_cap")] public int QueueChunksCapacity { get; init; }
    [JsonPropertyName("q_workers")] public int QueueWorkers { get; init; }
    [JsonPropertyName("q_workers_cap")] public int QueueWorkersCapacity { get; init; }
    [JsonPropertyName("q_prefetch")] public int QueuePrefetch { get; init; }
    [JsonPropertyName("q_prefetch_cap")] public int QueuePrefetchCapacity { get; init; }
    [JsonPropertyName("ws_mb")] public double WorkingSetMb { get; init; }
    [JsonPropertyName("heap_mb")] public double HeapMb { get; init; }

    public static ProfilePoint From(PipelineSnapshot s, double workingSetMb, double heapMb) => new()
    {
        Seconds = Math.Round(s.Elapsed.TotalSeconds, 3), Chunks = s.Chunks, SamplesRead = s.SamplesRead, BytesRead = s.BytesRead,
        ReadSeconds = Math.Round(s.ReadTime.TotalSeconds, 4), Decoded = s.Decoded, DecodeSeconds = Math.Round(s.DecodeTime.TotalSeconds, 4),
        Views = s.Views, AugmentSeconds = Math.Round(s.AugmentTime.TotalSeconds, 4), SamplesDone = s.SamplesDone, Batches = s.Batches,
        ConsumerBatches = s.ConsumerBatches, WaitSeconds = Math.Round(s.ConsumerWait.TotalSeconds, 4), BadSamples = s.BadSamples,
        QueueChunks = s.Queues.Chunks, QueueChunksCapacity = s.Queues.ChunkCapacity, QueueWorkers = s.Queues.WorkerInput,
        QueueWorkersCapacity = s.Queues.WorkerCapacity, QueuePrefetch = s.Queues.Prefetch, QueuePrefetchCapacity = s.Queues.PrefetchCapacity,
        WorkingSetMb = Math.Round(workingSetMb, 1), HeapMb = Math.Round(heapMb, 1),
    };
}
