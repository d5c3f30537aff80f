using Parquet;

namespace Contrastive.Ingest;

/// <summary>
/// A set of Parquet image shards read as one dataset: global sample indices follow shard order (sorted paths)
/// and row order. Row groups are the read units of the epoch's order, mixed through the plan's shuffle buffer.
/// </summary>
public sealed class ParquetImageDataset : IImageDataset, IShardUnits
{
    private readonly ObjectStoreOptions _store;

    private ParquetImageDataset(string uri, IReadOnlyList<ParquetImageShard> shards, ObjectStoreOptions store)
    {
        Uri = uri;
        Shards = shards;
        SampleCount = shards.Sum(s => s.SampleCount);
        _store = store;
    }

    public string Uri { get; }

    public IReadOnlyList<ParquetImageShard> Shards { get; }

    public long SampleCount { get; }

    /// <summary>True when every shard has a label column.</summary>
    public bool HasLabels => Shards.All(s => s.HasLabels);

    /// <summary>True when every shard has a caption column (txt, text, caption or the one named).</summary>
    public bool HasCaptions => Shards.All(s => s.HasCaptions);

    public string Format => "parquet";

    public int ShardCount => Shards.Count;

    public IReadOnlyDictionary<string, string> Columns { get; private init; } = new Dictionary<string, string>();

    public IReadOnlyList<string>? ClassNames => null;

    /// <summary>Footers of object-storage shards read at once when a dataset is opened.</summary>
    internal const int OpenRequests = 16;

    /// <summary>Resolves <paramref name="uri"/> and reads every shard's footer, failing early with the file and column at fault.</summary>
    public static async Task<ParquetImageDataset> OpenAsync(string uri, string? imageColumn = null, string? labelColumn = null, CancellationToken ct = default)
        => await OpenAsync(uri, imageColumn, labelColumn, null, ct).ConfigureAwait(false);

    /// <summary>
    /// As above, with the caption column named (<paramref name="textColumn"/>: every shard must have it); null: detected among
    /// txt, text and caption.
    /// </summary>
    /// <param name="store">Object storage's requests and retries (null: the defaults).</param>
    public static async Task<ParquetImageDataset> OpenAsync(string uri, string? imageColumn, string? labelColumn, string? textColumn, CancellationToken ct = default,
        ObjectStoreOptions? store = null)
        => await OpenAsync(uri, await ShardSource.ResolveAsync(uri, [".parquet"], ct, store).ConfigureAwait(false), imageColumn, labelColumn, textColumn, ct, store).ConfigureAwait(false);

    /// <summary>Opens shards already resolved (with their sizes, when a listing gave them).</summary>
    internal static async Task<ParquetImageDataset> OpenAsync(string uri, IReadOnlyList<(string Shard, long? Size)> paths, string? imageColumn, string? labelColumn,
        string? textColumn, CancellationToken ct, ObjectStoreOptions? store = null)
    {
        store ??= new();
        // Footers in object storage are read several at once (each is a request or two of the store's latency: thousands of
        // shards one after another would take minutes); local ones in order, so the first bad shard is the one named.
        var opened = new ParquetImageShard[paths.Count];
        var options = new ParallelOptions { MaxDegreeOfParallelism = paths.Any(p => ObjectStore.IsS3(p.Shard)) ? OpenRequests : 1, CancellationToken = ct };
        await Parallel.ForEachAsync(Enumerable.Range(0, paths.Count), options, async (i, token) =>
            opened[i] = await ParquetImageShard.OpenAsync(paths[i].Shard, paths[i].Size, 0, imageColumn, labelColumn, textColumn, store, token).ConfigureAwait(false))
            .ConfigureAwait(false);
        var shards = new List<ParquetImageShard>(paths.Count);
        long first = 0;
        foreach (var shard in opened)
        {
            shards.Add(shard.At(first));
            first += shard.SampleCount;
        }
        var first0 = shards[0];
        var columns = new Dictionary<string, string> { ["image"] = first0.ImageColumnPath };
        if (first0.LabelColumn is { } l) columns["label"] = l;
        if (first0.KeyColumnPath is { } k) columns["key"] = k;
        if (shards.All(s => s.HasCaptions)) columns["text"] = first0.TextColumn!;
        return new ParquetImageDataset(uri, shards, store) { Columns = columns };
    }

    /// <summary>
    /// Streams the dataset in the order the plan gives: row groups in a permutation (or stored order), mixed through the
    /// plan's shuffle buffer (<see cref="ShuffleBuffer"/>) or one after the other. Samples excluded by the plan's split are
    /// left out; empty chunks are not produced. Row groups before the plan's cursor are not read (a shard whose row groups
    /// are all before it is not opened).
    /// </summary>
    public async IAsyncEnumerable<SampleChunk> ReadAsync(ReadPlan plan, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        await using var files = new ParquetFiles(_store);
        using var raw = new BinaryColumnReader();
        CacheSession? cache = null;
        RangeReadAhead? readAhead = null;

        async IAsyncEnumerable<SampleChunk> ReadUnit((int Shard, int RowGroup) part, int position, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken token)
        {
            var shard = Shards[part.Shard];
            var (reader, ranges) = await files.GetAsync(shard.Path, shard.Size, token, cache, shard.Tail).ConfigureAwait(false);
            // Read ahead: the row group's bytes are (or will soon be) in memory; its reads are served from them. They go back
            // as soon as it is read (the chunk holds copies), not when the iterator ends: a mixing group's units are all read
            // before the next round ends any of them.
            var s3 = ranges as S3ReadStream;
            var lease = readAhead is not null && shard.Spans is { } spans && s3 is not null
                ? await readAhead.TakeAsync(shard.Path, spans[part.RowGroup].Offset, token).ConfigureAwait(false) : null;
            SampleChunk chunk;
            try
            {
                if (lease is not null) s3!.Overlay(lease.Offset, lease.Bytes);
                chunk = await shard.ReadRowGroupAsync(reader, part.RowGroup, plan.Epoch, position, ranges, raw, token, plan.Captions).ConfigureAwait(false);
            }
            finally
            {
                if (lease is not null)
                {
                    s3!.Forget(lease.Offset);
                    lease.Dispose();
                }
            }
            cache?.UnitDone(shard.Path);
            yield return chunk;
        }

        // With a shard cache, the pass's row groups in order tell it which shards to fetch ahead and when each is done with;
        // without one, which row groups of object storage to read ahead.
        void Ahead(IReadOnlyList<(int Shard, int RowGroup)> units)
        {
            cache = CacheSession.Start(_store, units.Select(u => (Shards[u.Shard].Path, Shards[u.Shard].Size)));
            if (cache is not null) cache.Finished = files.Close;
            else if (_store.ReadAheadMb > 0 && Shards.Any(s => s.Spans is not null))
                readAhead = new RangeReadAhead(_store, [.. units.Select(u => Shards[u.Shard] is { Spans: { } spans } s && spans[u.RowGroup].Length is > 0 and <= int.MaxValue
                    ? new RangeReadAhead.Range(s.Path, s.Size, spans[u.RowGroup].Offset, (int)spans[u.RowGroup].Length) : null)]);
        }

        try
        {
            await foreach (var chunk in ShuffleBuffer.ReadAsync(Parts(), p => Size(p), ReadUnit, plan, Uri, Ahead, ct).ConfigureAwait(false))
                yield return chunk;
        }
        finally
        {
            if (cache is not null) await cache.DisposeAsync().ConfigureAwait(false);
            if (readAhead is not null) await readAhead.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Every row group as (shard, row group), in stored order: the read units.</summary>
    private List<(int Shard, int RowGroup)> Parts()
    {
        var parts = new List<(int Shard, int RowGroup)>();
        for (int s = 0; s < Shards.Count; s++)
            for (int g = 0; g < Shards[s].RowGroupRows.Count; g++)
                parts.Add((s, g));
        return parts;
    }

    private UnitSize Size((int Shard, int RowGroup) p) => new(Shards[p.Shard].RowGroupRows[p.RowGroup], Shards[p.Shard].RowGroupBytes[p.RowGroup]);

    string IShardUnits.UnitName => "row groups";

    bool IShardUnits.SizesEstimated => false;

    IReadOnlyList<UnitSize> IShardUnits.UnitSizes(ReadPlan plan) => Parts().Select(Size).ToList();
}
