using System.IO.Compression;

namespace Contrastive.Ingest;

/// <summary>
/// WebDataset tar shards (.tar, .tar.gz, .tgz). Streamed front to back; the sample count is not known without
/// reading everything, so <see cref="SampleCount"/> is -1. Global sample index: shard index × 2³² + position in the
/// shard (stable across runs). Shuffling permutes shard order per epoch and mixes samples of
/// many shards through the plan's shuffle buffer (<see cref="ShuffleBuffer"/>); ranks take every WorldSize-th shard of that order.
/// </summary>
public sealed class WebDataset : IImageDataset, IShardUnits
{
    public static readonly string[] ShardExtensions = [".tar", ".tar.gz", ".tgz"];

    private readonly IReadOnlyList<(string Shard, long? Size)> _shards;

    private readonly ObjectStoreOptions _store;

    private WebDataset(string uri, IReadOnlyList<(string Shard, long? Size)> shards, bool hasLabels, bool hasCaptions, int chunkSize, ObjectStoreOptions store)
    {
        Uri = uri;
        _shards = shards;
        HasLabels = hasLabels;
        HasCaptions = hasCaptions;
        ChunkSize = chunkSize;
        _store = store;
        var columns = new Dictionary<string, string>
        {
            ["image"] = "key.{jpg,jpeg,png,webp}",
            ["label"] = hasLabels ? "key.{cls,label,class}" : "(none)",
            ["key"] = "member name up to the first '.'",
        };
        if (hasCaptions) columns["text"] = "key.txt";
        Columns = columns;
    }

    public string Uri { get; }

    public string Format => "webdataset";

    public int ShardCount => _shards.Count;

    public long SampleCount => -1;

    public bool HasLabels { get; }

    /// <summary>True when the first sample of the first shard has a key.txt member: then every sample needs one.</summary>
    public bool HasCaptions { get; }

    public IReadOnlyDictionary<string, string> Columns { get; }

    public IReadOnlyList<string>? ClassNames => null;

    public int ChunkSize { get; }

    internal static bool IsShard(string path) => ShardExtensions.Any(e => path.EndsWith(e, StringComparison.OrdinalIgnoreCase));

    /// <summary>Resolves the shards and reads the first sample of the first to learn whether samples carry labels.</summary>
    /// <param name="store">Object storage's requests and retries (null: the defaults).</param>
    public static async Task<WebDataset> OpenAsync(string uri, int chunkSize = 100, CancellationToken ct = default, ObjectStoreOptions? store = null)
    {
        store ??= new();
        var shards = await ShardSource.ResolveAsync(uri, ShardExtensions, ct, store).ConfigureAwait(false);
        bool labels = false, captions = false;
        await foreach (var (samples, owner) in ReadShardAsync(shards[0].Shard, shards[0].Size, 1, store, ct).ConfigureAwait(false))
        {
            labels = samples.Count > 0 && samples[0].Label != Sample.NoLabel;
            captions = samples.Count > 0 && samples[0].HasCaption;
            owner.Dispose();
            break;
        }
        return new WebDataset(uri, shards, labels, captions, chunkSize, store);
    }

    /// <summary>
    /// Streams the shards in the plan's order. Through the shuffle buffer, a mixing group's shards stream side by side in
    /// pieces of up to <see cref="ChunkSize"/> samples and <see cref="PieceBytes"/> bytes each, one piece of every shard per
    /// round; resuming inside a group re-reads its shards up to the cursor's round without yielding what comes before it,
    /// or, when every shard of the group has a sidecar index (<c>NAME.tar.idx</c>, <see cref="TarIndex"/>, written by
    /// <c>pack</c>), seeks each to its first sample of that round and reads nothing before it (one unit at a time: the piece the
    /// cursor is in).
    /// </summary>
    public async IAsyncEnumerable<SampleChunk> ReadAsync(ReadPlan plan, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        long pieceBytes = plan.Mixes ? PieceBytes(plan) : long.MaxValue;
        CacheSession? cache = null;

        // Sidecar indexes (NAME.tar.idx, from pack), loaded when a resume needs one: the pieces of a shard under this plan.
        var indexes = new Dictionary<int, (TarIndex Index, List<int> Starts)?>();
        async Task<(TarIndex Index, List<int> Starts)?> IndexOf(int s, CancellationToken token)
        {
            if (!indexes.TryGetValue(s, out var entry))
                indexes[s] = entry = await TarIndex.LoadAsync(_shards[s].Shard, FileSize(s), _store, token).ConfigureAwait(false) is { } index
                    ? (index, index.Pieces(ChunkSize, pieceBytes)) : null;
            return entry;
        }

        async Task<IReadOnlyList<long[]>?> Pieces(int s, CancellationToken token)
        {
            if (await IndexOf(s, token).ConfigureAwait(false) is not { } entry) return null;
            var (index, starts) = entry;
            var pieces = new List<long[]>(starts.Count);
            for (int p = 0; p < starts.Count; p++)
            {
                int end = p + 1 < starts.Count ? starts[p + 1] : index.Entries.Count;
                var ids = new long[end - starts[p]];
                for (int i = 0; i < ids.Length; i++) ids[i] = ((long)s << 32) + starts[p] + i;
                pieces.Add(ids);
            }
            return pieces;
        }

        IAsyncEnumerable<SampleChunk> ReadUnit(int s, int position, CancellationToken token) => ReadUnitFrom(s, position, 0, token);

        async IAsyncEnumerable<SampleChunk> ReadUnitFrom(int s, int position, int fromPiece, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken token)
        {
            var (shard, size) = _shards[s];
            long next = (long)s << 32, at = 0;
            int part = fromPiece;
            if (fromPiece > 0)
            {
                // A resume: the shard's pieces before the cursor's are not read; reading starts at the header of the piece's first sample.
                var (index, starts) = (await IndexOf(s, token).ConfigureAwait(false))!.Value;
                next += starts[fromPiece];
                at = index.Entries[starts[fromPiece]].Offset;
            }
            await foreach (var (samples, owner) in ReadShardAsync(shard, size, ChunkSize, _store, token, pieceBytes, cache, at).ConfigureAwait(false))
            {
                int n = samples.Count;
                var images = new ReadOnlyMemory<byte>[n];
                var labels = new long[n];
                var indices = new long[n];
                var keys = new string?[n];
                var captions = HasCaptions && plan.Captions ? new ReadOnlyMemory<byte>[n] : null;
                string?[]? problems = null;
                for (int i = 0; i < n; i++)
                {
                    images[i] = samples[i].Image;
                    labels[i] = samples[i].Label;
                    indices[i] = next++;
                    keys[i] = samples[i].Key;
                    if (captions is not null) captions[i] = samples[i].Caption;
                    if (captions is not null && samples[i].Problem is { } problem) (problems ??= new string?[n])[i] = problem;
                }
                if (captions is not null) problems = SampleChunk.MarkMissingCaptions(captions, problems);
                yield return new SampleChunk(shard, part++, plan.Epoch, images, labels, indices, keys, owner) { Unit = position, Captions = captions, Problems = problems };
            }
            cache?.UnitDone(shard);
        }

        var sizes = UnitSizesFor(plan);
        try
        {
            await foreach (var chunk in ShuffleBuffer.ReadAsync(Enumerable.Range(0, _shards.Count).ToList(), s => sizes[s], ReadUnit, plan, Uri,
                units => cache = CacheSession.Start(_store, units.Select(s => _shards[s])), ct, new PieceSeek<int>(Pieces, ReadUnitFrom)).ConfigureAwait(false))
                yield return chunk;
        }
        finally
        {
            if (cache is not null) await cache.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The most image bytes one shard contributes to a round of the shuffle buffer: the byte bound shared by as many
    /// shards as the sample bound holds pieces of <see cref="ChunkSize"/>.
    /// </summary>
    public long PieceBytes(ReadPlan plan) => Math.Max(1, plan.ShuffleBufferBytes / Math.Max(1, plan.ShuffleBufferSamples / ChunkSize));

    /// <summary>A shard's file size (a symbolic link's target's), from the listing or the file system; null when unknown.</summary>
    private long? FileSize(int s)
    {
        var (shard, size) = _shards[s];
        if (size is { } known) return known;
        if (ObjectStore.IsS3(shard)) return null;
        try
        {
            var info = new FileInfo(shard.StartsWith("file://", StringComparison.OrdinalIgnoreCase) ? shard[7..] : shard);
            if (info.LinkTarget is not null) info = info.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? info;
            return info.Exists ? info.Length : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Per shard, what it holds in the buffer at a time: a piece (samples estimated as a full chunk; bytes the file's, capped).</summary>
    private UnitSize[] UnitSizesFor(ReadPlan plan)
    {
        long piece = PieceBytes(plan);
        var sizes = new UnitSize[_shards.Count];
        for (int s = 0; s < sizes.Length; s++) sizes[s] = new UnitSize(ChunkSize, Math.Min(piece, FileSize(s) ?? piece));
        return sizes;
    }

    string IShardUnits.UnitName => "tar shards";

    bool IShardUnits.SizesEstimated => true;

    IReadOnlyList<UnitSize> IShardUnits.UnitSizes(ReadPlan plan) => UnitSizesFor(plan);

    private static async IAsyncEnumerable<(List<TarShardReader.TarSample>, PooledBuffers)> ReadShardAsync(string shard, long? size, int groupSize, ObjectStoreOptions store,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct, long groupBytes = long.MaxValue, CacheSession? cache = null, long startAt = 0)
    {
        var (stream, _) = await ShardStorage.OpenAsync(shard, size, store, ct, cache, ReadPattern.Sequential).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            if (startAt > 0) stream.Seek(startAt, SeekOrigin.Begin); // an uncompressed shard resumed through its index
            Stream source = shard.EndsWith(".tar", StringComparison.OrdinalIgnoreCase) ? stream : new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true);
            // A shard in object storage is read front to back through the stream's block cache (ranged GETs, retried).
            await using (source.ConfigureAwait(false))
            {
                var reader = new TarShardReader();
                var e = reader.ReadAsync(source, shard, groupSize, ct, groupBytes).GetAsyncEnumerator(ct);
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
