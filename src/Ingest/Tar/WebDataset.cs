using System.IO.Compression;

namespace Contrastive.Ingest;

/// <summary>
/// WebDataset tar shards (.tar, .tar.gz, .tgz). Streamed front to back; the sample count is not known without
/// reading everything, so <see cref="SampleCount"/> is -1. Global sample index: shard index × 2³² + position in the
/// shard (stable across runs). Shuffling permutes shard order per epoch and samples within each chunk; ranks take
/// every WorldSize-th shard of that order.
/// </summary>
public sealed class WebDataset : IImageDataset
{
    public static readonly string[] ShardExtensions = [".tar", ".tar.gz", ".tgz"];

    private readonly IReadOnlyList<(string Shard, long? Size)> _shards;

    private WebDataset(string uri, IReadOnlyList<(string Shard, long? Size)> shards, bool hasLabels, int chunkSize)
    {
        Uri = uri;
        _shards = shards;
        HasLabels = hasLabels;
        ChunkSize = chunkSize;
        Columns = new Dictionary<string, string>
        {
            ["image"] = "key.{jpg,jpeg,png,webp}",
            ["label"] = hasLabels ? "key.{cls,label,class}" : "(none)",
            ["key"] = "member name up to the first '.'",
        };
    }

    public string Uri { get; }

    public string Format => "webdataset";

    public int ShardCount => _shards.Count;

    public long SampleCount => -1;

    public bool HasLabels { get; }

    public IReadOnlyDictionary<string, string> Columns { get; }

    public IReadOnlyList<string>? ClassNames => null;

    public int ChunkSize { get; }

    internal static bool IsShard(string path) => ShardExtensions.Any(e => path.EndsWith(e, StringComparison.OrdinalIgnoreCase));

    /// <summary>Resolves the shards and reads the first sample of the first to learn whether samples carry labels.</summary>
    public static async Task<WebDataset> OpenAsync(string uri, int chunkSize = 100, CancellationToken ct = default)
    {
        var shards = await ShardSource.ResolveAsync(uri, ShardExtensions, ct).ConfigureAwait(false);
        bool labels = false;
        await foreach (var (samples, owner) in ReadShardAsync(shards[0].Shard, shards[0].Size, 1, ct).ConfigureAwait(false))
        {
            labels = samples.Count > 0 && samples[0].Label != Sample.NoLabel;
            owner.Dispose();
            break;
        }
        return new WebDataset(uri, shards, labels, chunkSize);
    }

    public async IAsyncEnumerable<SampleChunk> ReadAsync(ReadPlan plan, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        foreach (var (position, s) in SampleOrder.Units(_shards.Count, plan))
        {
            var (shard, size) = _shards[s];
            long next = (long)s << 32;
            int part = 0, offset = 0;
            await foreach (var (samples, owner) in ReadShardAsync(shard, size, ChunkSize, ct).ConfigureAwait(false))
            {
                int n = samples.Count;
                var images = new ReadOnlyMemory<byte>[n];
                var labels = new long[n];
                var indices = new long[n];
                var keys = new string?[n];
                for (int i = 0; i < n; i++)
                {
                    images[i] = samples[i].Image;
                    labels[i] = samples[i].Label;
                    indices[i] = next++;
                    keys[i] = samples[i].Key;
                }
                var selected = SampleOrder.Select(new SampleChunk(shard, part++, plan.Epoch, images, labels, indices, keys, owner) { Unit = position, Offset = offset }, plan);
                offset += selected.Count;
                // A shard streams front to back: resuming inside one reads (but does not yield) the samples before the cursor.
                if (plan.Trim(selected, position, selected.Offset) is { } chunk) yield return chunk;
            }
        }
    }

    private static async IAsyncEnumerable<(List<TarShardReader.TarSample>, PooledBuffers)> ReadShardAsync(string shard, long? size, int groupSize,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var (stream, _) = await ShardStorage.OpenAsync(shard, size, ct).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            Stream source = shard.EndsWith(".tar", StringComparison.OrdinalIgnoreCase) ? stream : new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true);
            // A shard in object storage is read front to back through the stream's block cache (ranged GETs, retried).
            await using (source.ConfigureAwait(false))
            {
                var reader = new TarShardReader();
                var e = reader.ReadAsync(source, shard, groupSize, ct).GetAsyncEnumerator(ct);
                try
                {
                    while (true)
                    {
                        try
                        {
                            if (!await e.MoveNextAsync().ConfigureAwait(false)) break;
                        }
                        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException)
                        {
                            throw new ShardFormatException(shard, null, $"Shard '{shard}': {ex.Message}", ex);
                        }
                        yield return e.Current;
                    }
                }
                finally
                {
                    await e.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
    }
}
