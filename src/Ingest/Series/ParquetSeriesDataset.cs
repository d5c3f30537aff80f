using Parquet;

namespace Contrastive.Ingest;

/// <summary>
/// Time-series Parquet shards for the CPC path: one sequence per row, as one list&lt;float&gt; column per channel or
/// one list&lt;list&lt;float&gt;&gt; column of channels (float, double, int16 or int32 values), with an optional integer
/// label. Order, split, ranks, the shuffle buffer and cursors follow the image datasets: the unit is the row group.
/// </summary>
public sealed class ParquetSeriesDataset : IImageDataset, IShardUnits
{
    private readonly IReadOnlyList<Shard> _shards;
    private readonly SeriesColumns _columns;

    private sealed record Shard(string Path, long? Size, long[] RowGroupRows, long[] RowGroupBytes, long FirstIndex, SeriesColumns Columns);

    private readonly ObjectStoreOptions _store;

    private ParquetSeriesDataset(string uri, IReadOnlyList<Shard> shards, SeriesColumns columns, int channels, ObjectStoreOptions store)
    {
        _store = store;
        Uri = uri;
        _shards = shards;
        _columns = columns;
        Channels = channels;
        SampleCount = shards.Sum(s => s.RowGroupRows.Sum());
    }

    public string Uri { get; }

    public string Format => "parquet-series";

    public int ShardCount => _shards.Count;

    public long SampleCount { get; }

    /// <summary>Channels per sample: the list columns, or (one nested column) the first row's lists.</summary>
    public int Channels { get; }

    public bool HasLabels => _columns.Label is not null;

    /// <summary>Never: the format has no captions.</summary>
    public bool HasCaptions => false;

    public IReadOnlyList<string>? ClassNames => null;

    /// <summary>The series as the input pipeline takes them: each sample's bytes are its float32 values (see <see cref="SeriesChunk.ToSampleChunk"/>).</summary>
    async IAsyncEnumerable<SampleChunk> IImageDataset.ReadAsync(ReadPlan plan, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        await using var files = new ParquetFiles(_store);

        async IAsyncEnumerable<SampleChunk> ReadUnit((int Shard, int RowGroup) part, int position, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken token)
        {
            var shard = _shards[part.Shard];
            var (reader, _) = await files.GetAsync(shard.Path, shard.Size, token).ConfigureAwait(false);
            yield return (await ReadRowGroupAsync(reader, shard, part.RowGroup, plan.Epoch, position, token).ConfigureAwait(false)).ToSampleChunk();
        }

        await foreach (var chunk in ShuffleBuffer.ReadAsync(Parts(), Size, ReadUnit, plan, Uri, ct: ct).ConfigureAwait(false))
            yield return chunk;
    }

    /// <summary>Every row group as (shard, row group), in stored order: the read units.</summary>
    private List<(int Shard, int RowGroup)> Parts()
    {
        var parts = new List<(int Shard, int RowGroup)>();
        for (int s = 0; s < _shards.Count; s++)
            for (int g = 0; g < _shards[s].RowGroupRows.Length; g++) parts.Add((s, g));
        return parts;
    }

    private UnitSize Size((int Shard, int RowGroup) p) => new(_shards[p.Shard].RowGroupRows[p.RowGroup], _shards[p.Shard].RowGroupBytes[p.RowGroup]);

    string IShardUnits.UnitName => "row groups";

    bool IShardUnits.SizesEstimated => false;

    IReadOnlyList<UnitSize> IShardUnits.UnitSizes(ReadPlan plan) => Parts().Select(Size).ToList();

    /// <summary>Column per field: series → the list column(s), label → the label column.</summary>
    public IReadOnlyDictionary<string, string> Columns
    {
        get
        {
            var d = new Dictionary<string, string> { ["series"] = string.Join(",", _columns.Names) };
            if (_columns.LabelName is { } l) d["label"] = l;
            return d;
        }
    }

    /// <summary>
    /// Resolves <paramref name="uri"/> (file, directory, glob or s3:// prefix) and reads every shard's footer; the
    /// series columns are <paramref name="seriesColumns"/> or found by name (<see cref="SeriesColumns.SeriesNames"/>,
    /// else every numeric list column). Every shard must have the same columns.
    /// </summary>
    /// <param name="store">Object storage's requests and retries (null: the defaults).</param>
    public static async Task<ParquetSeriesDataset> OpenAsync(string uri, IReadOnlyList<string>? seriesColumns = null, string? labelColumn = null,
        CancellationToken ct = default, ObjectStoreOptions? store = null)
    {
        store ??= new();
        var paths = await ShardSource.ResolveAsync(uri, [".parquet"], ct, store).ConfigureAwait(false);
        var shards = new List<Shard>(paths.Count);
        long first = 0;
        int channels = 0;
        foreach (var (path, size) in paths)
        {
            var (stream, _) = await ShardStorage.OpenAsync(path, size, store, ct).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                ParquetReader reader;
                try { reader = await ParquetReader.CreateAsync(stream, cancellationToken: ct).ConfigureAwait(false); }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    throw new ShardFormatException(path, null, $"Shard '{path}' is not a readable Parquet file: {e.Message}", e);
                }
                await using (reader.ConfigureAwait(false))
                {
                    var columns = SeriesColumns.Find(reader.Schema, path, seriesColumns, labelColumn);
                    if (shards.Count > 0 && !columns.Names.SequenceEqual(shards[0].Columns.Names))
                        throw new ShardFormatException(path, null, $"Shard '{path}' has series columns {string.Join(", ", columns.Names)}; " +
                            $"'{shards[0].Path}' has {string.Join(", ", shards[0].Columns.Names)}. Every shard needs the same ones.");
                    var rows = new long[reader.RowGroupCount];
                    var bytes = new long[rows.Length];
                    for (int g = 0; g < rows.Length; g++)
                    {
                        rows[g] = reader.RowGroups[g].RowCount;
                        bytes[g] = reader.RowGroups[g].RowGroup.TotalByteSize; // uncompressed: about the float values the row group becomes
                    }
                    if (channels == 0) channels = columns.Nested ? await FirstRowChannelsAsync(reader, path, columns, ct).ConfigureAwait(false) : columns.Leaves.Count;
                    shards.Add(new Shard(path, size, rows, bytes, first, columns));
                    first += rows.Sum();
                }
            }
        }
        if (channels == 0) throw new DataSourceException(uri, $"The series data at '{uri}' has no rows.");
        return new ParquetSeriesDataset(uri, shards, shards[0].Columns, channels, store);
    }

    private static async Task<int> FirstRowChannelsAsync(ParquetReader reader, string path, SeriesColumns columns, CancellationToken ct)
    {
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            if (reader.RowGroups[g].RowCount == 0) continue;
            using var rg = reader.OpenRowGroupReader(g);
            var col = await ReadColumnAsync(rg, path, g, columns.Leaves[0], columns.Names[0], ct).ConfigureAwait(false);
            return col.RowLists[0];
        }
        return 0;
    }

    /// <summary>
    /// Streams the series in the plan's order, with its split, ranks, shuffle buffer and cursor: the same samples in the
    /// same chunks as the <see cref="IImageDataset"/> view, as series.
    /// </summary>
    public async IAsyncEnumerable<SeriesChunk> ReadAsync(ReadPlan plan, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        await foreach (var chunk in ((IImageDataset)this).ReadAsync(plan, ct).ConfigureAwait(false))
            yield return SeriesChunk.FromSampleChunk(chunk, Channels);
    }

    private async Task<SeriesChunk> ReadRowGroupAsync(ParquetReader reader, Shard shard, int g, int epoch, int unit, CancellationToken ct)
    {
        using var rg = reader.OpenRowGroupReader(g);
        int n = checked((int)rg.RowCount);
        var cols = new ListColumn[_columns.Leaves.Count];
        for (int j = 0; j < cols.Length; j++)
            cols[j] = await ReadColumnAsync(rg, shard.Path, g, shard.Columns.Leaves[j], shard.Columns.Names[j], ct).ConfigureAwait(false);

        var labels = new long[n];
        if (shard.Columns.Label is { } labelField)
        {
            try { await ParquetImageShard.ReadLabelsAsync(rg, labelField, labels, ct).ConfigureAwait(false); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new ShardFormatException(shard.Path, labelField.Name, $"Shard '{shard.Path}', row group {g}, column '{labelField.Name}': cannot be read: {e.Message}", e);
            }
        }
        else Array.Fill(labels, Sample.NoLabel);

        // Lay each usable row out channel-major in one buffer for the chunk.
        var lengths = new int[n];
        var problems = new string?[n];
        long total = 0;
        for (int i = 0; i < n; i++)
        {
            problems[i] = cols.Select(c => c.Problems[i]).FirstOrDefault(p => p is not null);
            int t = -1, channels = 0;
            foreach (var (c, list) in Lists(cols, i))
            {
                channels++;
                int len = c.ListLength[list];
                if (t < 0) t = len;
                else if (len != t) problems[i] ??= $"channels of different lengths ({t} and {len})";
            }
            if (channels != Channels) problems[i] ??= $"{channels} channel(s), the dataset has {Channels}";
            if (t <= 0) problems[i] ??= "an empty series";
            if (problems[i] is null) { lengths[i] = t; total += (long)t * Channels; }
        }
        var owner = new PooledBuffers();
        var bytes = owner.Rent(checked((int)total * sizeof(float)));
        var buffer = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes.AsSpan(0, (int)total * sizeof(float)));
        var values = new ReadOnlyMemory<byte>[n];
        int at = 0;
        for (int i = 0; i < n; i++)
        {
            if (problems[i] is not null) continue;
            int start = at;
            foreach (var (c, list) in Lists(cols, i))
            {
                c.Values.AsSpan(c.ListStart[list], c.ListLength[list]).CopyTo(buffer[at..]);
                at += c.ListLength[list];
            }
            values[i] = bytes.AsMemory(start * sizeof(float), (at - start) * sizeof(float));
        }
        var indices = new long[n];
        long first = shard.FirstIndex;
        for (int k = 0; k < g; k++) first += shard.RowGroupRows[k];
        for (int i = 0; i < n; i++) indices[i] = first + i;
        return new SeriesChunk(shard.Path, g, epoch, Channels, values, lengths, labels, indices, problems, owner) { Unit = unit };
    }

    /// <summary>Row <paramref name="i"/>'s lists, channel by channel: a nested column's lists, or one list per column.</summary>
    private static IEnumerable<(ListColumn Column, int List)> Lists(ListColumn[] cols, int i)
    {
        foreach (var c in cols)
            for (int l = 0; l < c.RowLists[i]; l++) yield return (c, c.RowFirstList[i] + l);
    }

    private static async Task<ListColumn> ReadColumnAsync(ParquetRowGroupReader rg, string path, int g, Parquet.Schema.DataField leaf, string name, CancellationToken ct)
    {
        try { return await ListColumn.ReadAsync(rg, leaf, checked((int)rg.RowCount), ct).ConfigureAwait(false); }
        catch (Exception e) when (e is not OperationCanceledException and not ShardFormatException)
        {
            throw new ShardFormatException(path, name, $"Shard '{path}', row group {g}, column '{name}': cannot be read: {e.Message}", e);
        }
    }
}
