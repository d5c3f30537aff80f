using System.Diagnostics;
using System.Text.Json.Serialization;
using Contrastive.Ingest;

namespace Contrastive.Host;

/// <summary>
/// What a run read, epoch by epoch, at the reading side (where object storage is asked, and where a cache would hit or
/// miss): each epoch's samples and image bytes handed on, its seconds, and the object-storage requests, retries and bytes
/// fetched for it. An epoch runs from the request for its first chunk to the request for the next epoch's first chunk (or
/// the end of reading), so each request is counted in the epoch it was made for. `train --json`'s and `bench --epochs`'
/// "epochs".
/// </summary>
internal sealed class EpochReads(Action<EpochRead>? closed = null)
{
    private readonly List<EpochRead> _rows = [];
    private readonly Lock _lock = new();

    /// <summary>The epochs read so far (the last one marked incomplete when reading stopped inside it).</summary>
    public IReadOnlyList<EpochRead> Rows
    {
        get { lock (_lock) return [.. _rows]; }
    }

    /// <summary>Passes <paramref name="source"/> through, counting each epoch's chunks.</summary>
    public async IAsyncEnumerable<SampleChunk> CountAsync(IAsyncEnumerable<SampleChunk> source,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        var clock = Stopwatch.StartNew();
        int? epoch = null;
        long samples = 0, bytes = 0;
        double start = 0;
        var store = ObjectStoreStats.Snapshot();
        bool ended = false;
        void Close(bool complete, double end, ObjectStoreCounters endStore)
        {
            if (epoch is not { } e) return;
            var traffic = endStore.Since(store);
            double seconds = end - start;
            var row = new EpochRead(e, samples, Math.Round(seconds, 3), Math.Round(samples / Math.Max(1e-9, seconds), 1), bytes, complete,
                traffic.BytesFetched, traffic.Requests, traffic.Retries)
            {
                CacheHits = endStore.CacheUsed ? traffic.CacheHits : null, CacheMisses = endStore.CacheUsed ? traffic.CacheMisses : null,
            };
            lock (_lock) _rows.Add(row);
            closed?.Invoke(row);
        }
        var chunks = source.WithCancellation(ct).ConfigureAwait(false).GetAsyncEnumerator();
        try
        {
            while (true)
            {
                // Taken before each request for a chunk: where an epoch turns out to begin, the previous one ended.
                (double before, var beforeStore) = (clock.Elapsed.TotalSeconds, ObjectStoreStats.Snapshot());
                if (!await chunks.MoveNextAsync()) break;
                var chunk = chunks.Current;
                if (chunk.Epoch != epoch)
                {
                    Close(complete: true, before, beforeStore);
                    (epoch, samples, bytes, start, store) = (chunk.Epoch, 0, 0, before, beforeStore);
                }
                samples += chunk.Count;
                for (int i = 0; i < chunk.Count; i++) bytes += chunk.Images[i].Length;
                yield return chunk;
            }
            ended = true;
        }
        finally
        {
            await chunks.DisposeAsync();
            // Reading ends inside an epoch when training stops (a step or time limit, a stop request): that row is partial.
            Close(complete: ended, clock.Elapsed.TotalSeconds, ObjectStoreStats.Snapshot());
        }
    }
}

/// <summary>
/// One epoch as read: its samples, seconds and read rate, the image bytes handed on, whether it was read to its end, and
/// its object-storage traffic (and the shard cache's hits and misses).
/// </summary>
internal sealed record EpochRead(
    [property: JsonPropertyName("epoch")] int Epoch,
    [property: JsonPropertyName("samples")] long Samples,
    [property: JsonPropertyName("seconds")] double Seconds,
    [property: JsonPropertyName("images_per_sec")] double ImagesPerSec,
    [property: JsonPropertyName("image_bytes")] long ImageBytes,
    [property: JsonPropertyName("complete")] bool Complete,
    [property: JsonPropertyName("bytes_fetched")] long BytesFetched,
    [property: JsonPropertyName("store_requests")] long StoreRequests,
    [property: JsonPropertyName("store_retries")] long StoreRetries)
{
    /// <summary>With a shard cache: the epoch's objects served from an intact entry, and those fetched (or read directly).</summary>
    [JsonPropertyName("cache_hits"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? CacheHits { get; init; }
    [JsonPropertyName("cache_misses"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? CacheMisses { get; init; }
}
