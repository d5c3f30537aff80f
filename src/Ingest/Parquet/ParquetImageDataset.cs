using Parquet;

namespace Contrastive.Ingest;

/// <summary>
/// A set of Parquet image shards read as one dataset: global sample indices follow shard order (sorted paths)
/// and row order. Reading streams one row group at a time.
/// </summary>
public sealed class ParquetImageDataset : IImageDataset
{
    private ParquetImageDataset(string uri, IReadOnlyList<ParquetImageShard> shards)
    {
        Uri = uri;
        Shards = shards;
        SampleCount = shards.Sum(s => s.SampleCount);
    }

    public string Uri { get; }

    public IReadOnlyList<ParquetImageShard> Shards { get; }

    public long SampleCount { get; }

    /// <summary>True when every shard has a label column.</summary>
    public bool HasLabels => Shards.All(s => s.HasLabels);

    public string Format => "parquet";

    public int ShardCount => Shards.Count;

    public IReadOnlyDictionary<string, string> Columns { get; private init; } = new Dictionary<string, string>();

    public IReadOnlyList<string>? ClassNames => null;

    /// <summary>Resolves <paramref name="uri"/> and reads every shard's footer, failing early with the file and column at fault.</summary>
    public static async Task<ParquetImageDataset> OpenAsync(string uri, string? imageColumn = null, string? labelColumn = null, CancellationToken ct = default)
        => await OpenAsync(uri, await ShardSource.ResolveAsync(uri, [".parquet"], ct).ConfigureAwait(false), imageColumn, labelColumn, ct).ConfigureAwait(false);

    /// <summary>Opens shards already resolved (with their sizes, when a listing gave them).</summary>
    internal static async Task<ParquetImageDataset> OpenAsync(string uri, IReadOnlyList<(string Shard, long? Size)> paths, string? imageColumn, string? labelColumn,
        CancellationToken ct)
    {
        var shards = new List<ParquetImageShard>(paths.Count);
        long first = 0;
        foreach (var (path, size) in paths)
        {
            var shard = await ParquetImageShard.OpenAsync(path, size, first, imageColumn, labelColumn, ct).ConfigureAwait(false);
            shards.Add(shard);
            first += shard.SampleCount;
        }
        var first0 = shards[0];
        var columns = new Dictionary<string, string> { ["image"] = first0.ImageColumnPath };
        if (first0.LabelColumn is { } l) columns["label"] = l;
        if (first0.KeyColumnPath is { } k) columns["key"] = k;
        return new ParquetImageDataset(uri, shards) { Columns = columns };
    }

    /// <summary>
    /// Streams the dataset as chunks (one per row group) in the order the plan gives. Samples excluded by the
    /// plan's split are removed from each chunk; empty chunks are not produced. Row groups before the plan's
    /// cursor are not read (a shard whose row groups are all before it is not opened).
    /// </summary>
    public async IAsyncEnumerable<SampleChunk> ReadAsync(ReadPlan plan, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        var parts = new List<(int Shard, int RowGroup)>();
        for (int s = 0; s < Shards.Count; s++)
            for (int g = 0; g < Shards[s].RowGroupRows.Count; g++)
                parts.Add((s, g));
        ParquetReader? reader = null;
        Stream? stream = null;
        IRangeReadable? ranges = null;
        int open = -1;
        using var raw = new BinaryColumnReader();
        try
        {
            foreach (var (position, part) in SampleOrder.Units(parts, plan))
            {
                var (s, g) = part;
                ct.ThrowIfCancellationRequested();
                var shard = Shards[s];
                if (open != s)
                {
                    if (reader is not null) await reader.DisposeAsync().ConfigureAwait(false);
                    if (stream is not null) await stream.DisposeAsync().ConfigureAwait(false);
                    (stream, ranges) = await ShardStorage.OpenAsync(shard.Path, shard.Size, ct).ConfigureAwait(false);
                    try
                    {
                        reader = await ParquetReader.CreateAsync(stream, cancellationToken: ct).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        throw new ShardFormatException(shard.Path, null, $"Shard '{shard.Path}' is not a readable Parquet file: {e.Message}", e);
                    }
                    open = s;
                }
                var read = await shard.ReadRowGroupAsync(reader!, g, plan.Epoch, position, ranges, raw, ct).ConfigureAwait(false);
                if (plan.Trim(SampleOrder.Select(read, plan), position, 0) is { } chunk) yield return chunk;
            }
        }
        finally
        {
            if (reader is not null) await reader.DisposeAsync().ConfigureAwait(false);
            if (stream is not null) await stream.DisposeAsync().ConfigureAwait(false);
        }
    }
}
