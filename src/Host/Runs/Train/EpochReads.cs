using System.Diagnostics;
using System.Text.Json.Serialization;
using Contrastive.Ingest;

namespace Contrastive.Host;

/// <summary>
/// What a training run read, epoch by epoch, at the reading side (where object storage is asked, and where a cache would
/// hit or miss): the samples of each epoch handed to the pipeline, the seconds from its first chunk to the next epoch's
/// (or to the end of reading), and the object-storage requests, retries and bytes fetched meanwhile. `train --json`'s
/// "epochs".
/// </summary>
internal sealed class EpochReads
{
    private readonly List<EpochRead> _rows = [];
    private readonly object _lock = new();

    /// <summary>The epochs read so far (the last one marked incomplete when reading stopped inside it).</summary>
    public IReadOnlyList<EpochRead> Rows
    {
        get { lock (_lock) return [.. _rows]; }
    }

    /// <summary>Passes <paramref name="source"/> through, counting each epoch's chunks.</summary>
    public async IAsyncEnumerable<SampleChunk> CountAsync(IAsyncEnumerable<SampleChunk> source,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        int? epoch = null;
        long samples = 0;
        var clock = new Stopwatch();
        var store = ObjectStoreStats.Snapshot();
        bool ended = false;
        void Close(bool complete)
        {
            if (epoch is not { } e) return;
            var traffic = ObjectStoreStats.Snapshot().Since(store);
            lock (_lock) _rows.Add(new EpochRead(e, samples, Math.Round(clock.Elapsed.TotalSeconds, 3), complete, traffic.BytesFetched, traffic.Requests, traffic.Retries));
        }
        try
        {
            await foreach (var chunk in source.WithCancellation(ct).ConfigureAwait(false))
            {
                if (chunk.Epoch != epoch)
                {
                    Close(complete: true);
                    (epoch, samples, store) = (chunk.Epoch, 0, ObjectStoreStats.Snapshot());
                    clock.Restart();
                }
                samples += chunk.Count;
                yield return chunk;
            }
            ended = true;
        }
        finally
        {
            // Reading ends inside an epoch when training stops (a step or time limit, a stop request): that row is partial.
            Close(complete: ended);
        }
    }
}

/// <summary>One epoch of a training run as read: its samples, seconds, whether it was read to its end, and its object-storage traffic.</summary>
internal sealed record EpochRead(
    [property: JsonPropertyName("epoch")] int Epoch,
    [property: JsonPropertyName("samples_read")] long SamplesRead,
    [property: JsonPropertyName("seconds")] double Seconds,
    [property: JsonPropertyName("complete")] bool Complete,
    [property: JsonPropertyName("bytes_fetched")] long BytesFetched,
    [property: JsonPropertyName("store_requests")] long StoreRequests,
    [property: JsonPropertyName("store_retries")] long StoreRetries);
