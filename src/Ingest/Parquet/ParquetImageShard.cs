using Parquet;
using Parquet.Schema;

namespace Contrastive.Ingest;

/// <summary>One Parquet image shard: its row groups' sizes and the columns used. Opened once for metadata.</summary>
public sealed class ParquetImageShard
{
    private readonly ImageColumns _columns;

    private ParquetImageShard(string path, long? size, ImageColumns columns, long[] rowGroupRows, long[] rowGroupBytes, long firstIndex,
        (long Offset, long Length)[]? spans = null, byte[]? tail = null)
    {
        Spans = spans;
        Tail = tail;
        Path = path;
        Size = size;
        _columns = columns;
        RowGroupRows = rowGroupRows;
        RowGroupBytes = rowGroupBytes;
        FirstIndex = firstIndex;
        SampleCount = rowGroupRows.Sum();
    }

    public string Path { get; }

    /// <summary>The object's size when a listing gave it (saves a HEAD request per open).</summary>
    public long? Size { get; }

    /// <summary>Rows in each row group.</summary>
    public IReadOnlyList<long> RowGroupRows { get; }

    /// <summary>
    /// Bytes each row group's images take in memory once read, from the footer: the image column chunk's larger of its
    /// compressed and uncompressed sizes (the row group's total size when the footer does not say).
    /// </summary>
    public IReadOnlyList<long> RowGroupBytes { get; }

    /// <summary>Global index of this shard's first sample.</summary>
    public long FirstIndex { get; private set; }

    /// <summary>
    /// Object storage: each row group's byte range holding the columns a read takes (images, labels, keys, captions), what
    /// a read ahead fetches in one request; (0, 0) where other columns lie between them. Null for local shards.
    /// </summary>
    internal (long Offset, long Length)[]? Spans { get; }

    /// <summary>
    /// Object storage: the shard's last bytes (its footer, the footer's length and the magic), kept from the dataset's
    /// open so a read pass opens the shard without fetching them again. Null for local shards or a footer over 1 MiB.
    /// </summary>
    internal byte[]? Tail { get; }

    /// <summary>This shard with its first sample at global index <paramref name="first"/>.</summary>
    internal ParquetImageShard At(long first)
    {
        if (first == FirstIndex) return this;
        var shard = (ParquetImageShard)MemberwiseClone(); // every other member is read-only: the copy shares them
        shard.FirstIndex = first;
        return shard;
    }

    public long SampleCount { get; }

    public bool HasLabels => _columns.Label is not null;

    public string ImageColumn => _columns.ImageName;

    public string? LabelColumn => _columns.LabelName;

    /// <summary>True when the shard has a caption column (see <see cref="CaptionText.ColumnNames"/>).</summary>
    public bool HasCaptions => _columns.Text is not null;

    /// <summary>The caption column's name, when there is one.</summary>
    public string? TextColumn => _columns.TextName;

    /// <summary>Every top-level column of the shard with its type ("image (a struct), label (Int64)"), for messages that name them.</summary>
    public string AllColumns => _columns.AllColumns;

    /// <summary>The image leaf as a dotted path ("image.bytes" or "jpg").</summary>
    public string ImageColumnPath => string.Join('.', _columns.Image.Path.ToList());

    /// <summary>The key leaf as a dotted path, when there is one.</summary>
    public string? KeyColumnPath => _columns.Key is null ? null : string.Join('.', _columns.Key.Path.ToList());

    /// <summary>Opens <paramref name="path"/>, reads its footer and checks that it has an image column.</summary>
    public static async Task<ParquetImageShard> OpenAsync(string path, long firstIndex, string? imageColumn, string? labelColumn, CancellationToken ct)
        => await OpenAsync(path, null, firstIndex, imageColumn, labelColumn, null, new(), ct).ConfigureAwait(false);

    internal static async Task<ParquetImageShard> OpenAsync(string path, long? size, long firstIndex, string? imageColumn, string? labelColumn, string? textColumn,
        ObjectStoreOptions store, CancellationToken ct)
    {
        var (stream, _) = await ShardStorage.OpenAsync(path, size, store, ct).ConfigureAwait(false);
        try
        {
            await using var reader = await ParquetReader.CreateAsync(stream, cancellationToken: ct).ConfigureAwait(false);
            var columns = ImageColumns.Find(reader.Schema, path, imageColumn, labelColumn, textColumn);
            var rows = new long[reader.RowGroupCount];
            var bytes = new long[rows.Length];
            var spans = stream is S3ReadStream ? new (long, long)[rows.Length] : null;
            for (int i = 0; i < rows.Length; i++)
            {
                var rg = reader.RowGroups[i];
                rows[i] = rg.RowCount;
                bytes[i] = rg.GetMetadata(columns.Image)?.MetaData is { } m ? Math.Max(m.TotalCompressedSize, m.TotalUncompressedSize) : rg.RowGroup.TotalByteSize;
                if (spans is not null) spans[i] = Span(rg, columns.Image, columns.Label, columns.Key, columns.Text);
            }
            byte[]? tail = stream is S3ReadStream s3 ? await TailAsync(s3, ct).ConfigureAwait(false) : null;
            return new ParquetImageShard(path, size, columns, rows, bytes, firstIndex, spans, tail);
        }
        catch (Exception e) when (e is not ShardFormatException and not OperationCanceledException)
        {
            throw new ShardFormatException(path, null, $"Shard '{path}' is not a readable Parquet file: {e.Message}", e);
        }
        finally
        {
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Reads row group <paramref name="rowGroup"/> into a chunk (all its rows, in stored order). The image column is
    /// read into pooled buffers when <paramref name="file"/> and <paramref name="raw"/> are given and the column's layout
    /// allows; otherwise through Parquet.Net. <paramref name="unit"/> is the row group's position in the epoch's order.
    /// <paramref name="captions"/>: read the caption column too, when there is one (<see cref="ReadPlan.Captions"/>).
    /// </summary>
    internal async Task<SampleChunk> ReadRowGroupAsync(ParquetReader reader, int rowGroup, int epoch, int unit, IRangeReadable? file,
        BinaryColumnReader? raw, CancellationToken ct, bool captions = false)
    {
        string column = _columns.ImageName;
        PooledBuffers? owner = null;
        try
        {
            using var rg = reader.OpenRowGroupReader(rowGroup);
            int n = checked((int)rg.RowCount);
            ReadOnlyMemory<byte>[] images = new ReadOnlyMemory<byte>[n];
            bool done = false;
            if (file is not null && raw is not null)
            {
                owner = new PooledBuffers();
                try
                {
                    await raw.ReadAsync(file, rg.GetMetadata(_columns.Image) ?? throw new UnsupportedColumnException("no column chunk metadata"),
                        _columns.Image.MaxDefinitionLevel, _columns.Image.MaxRepetitionLevel, images, owner, ct).ConfigureAwait(false);
                    done = true;
                }
                catch (UnsupportedColumnException)
                {
                    owner.Dispose();
                    owner = null;
                }
            }
            if (!done)
            {
                var arrays = new byte[]?[n];
                await rg.ReadAsync(_columns.Image, arrays.AsMemory(), null, ct).ConfigureAwait(false);
                for (int i = 0; i < n; i++) images[i] = arrays[i] is { } b ? b : default;
            }

            await PrefetchAsync(rg, file, ct, _columns.Label, _columns.Key).ConfigureAwait(false);
            var labels = new long[n];
            if (_columns.Label is { } labelField)
            {
                column = _columns.LabelName!;
                await ReadLabelsAsync(rg, labelField, labels, ct).ConfigureAwait(false);
            }
            else
            {
                Array.Fill(labels, Sample.NoLabel);
            }

            ReadOnlyMemory<byte>[]? texts = null;
            string?[]? problems = null;
            if (captions && _columns.Text is { } textField)
            {
                column = _columns.TextName!;
                texts = new ReadOnlyMemory<byte>[n];
                await ReadTextAsync(rg, textField, file, raw, texts, owner ??= new PooledBuffers(), ct).ConfigureAwait(false);
                problems = SampleChunk.MarkMissingCaptions(texts, null);
            }

            string?[]? keys = null;
            if (_columns.Key is { } keyField)
            {
                column = keyField.Name;
                keys = new string?[n];
                await rg.ReadAsync(keyField, keys.AsMemory(), null, ct).ConfigureAwait(false);
            }

            long first = FirstIndex;
            for (int g = 0; g < rowGroup; g++) first += RowGroupRows[g];
            var indices = new long[n];
            for (int i = 0; i < n; i++) indices[i] = first + i;
            var chunk = new SampleChunk(Path, rowGroup, epoch, images, labels, indices, keys, owner) { Unit = unit, Captions = texts, Problems = problems };
            owner = null;
            return chunk;
        }
        catch (Exception e) when (e is not ShardFormatException and not OperationCanceledException)
        {
            owner?.Dispose();
            throw new ShardFormatException(Path, column, $"Shard '{Path}', row group {rowGroup}, column '{column}': cannot be read: {e.Message}", e);
        }
    }

    /// <summary>The byte range of <paramref name="fields"/>' column chunks in the row group; (0, 0) when more than a little else lies between them.</summary>
    private static (long Offset, long Length) Span(ParquetRowGroupReader rg, params DataField?[] fields)
    {
        long start = long.MaxValue, end = 0, sum = 0;
        foreach (var field in fields)
        {
            if (field is null || rg.GetMetadata(field)?.MetaData is not { } m) continue;
            long s = BinaryColumnReader.ChunkStart(m);
            (start, end, sum) = (Math.Min(start, s), Math.Max(end, s + m.TotalCompressedSize), sum + m.TotalCompressedSize);
        }
        return sum == 0 || end - start > sum + sum / 8 + S3ReadStream.FirstBlock ? (0, 0) : (start, end - start);
    }

    /// <summary>The footer, its length and the closing magic, from the stream's blocks (the open just read them: no request); null over 1 MiB.</summary>
    private static async Task<byte[]?> TailAsync(S3ReadStream stream, CancellationToken ct)
    {
        if (stream.Length < 12) return null;
        var end = new byte[8];
        stream.Position = stream.Length - 8;
        await stream.ReadExactlyAsync(end, ct).ConfigureAwait(false);
        long footer = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(end);
        if (footer <= 0 || footer + 8 > Math.Min(1 << 20, stream.Length - 4)) return null;
        var tail = new byte[footer + 8];
        stream.Position = stream.Length - tail.Length;
        await stream.ReadExactlyAsync(tail, ct).ConfigureAwait(false);
        return tail;
    }

    /// <summary>
    /// Tells <paramref name="file"/> where the row group's small columns read through Parquet.Net lie (labels, keys): in
    /// object storage they then come in one exact request instead of a block of 64 KiB each. Only when they lie together
    /// (nothing large, such as the image column, between them).
    /// </summary>
    private static ValueTask PrefetchAsync(ParquetRowGroupReader rg, IRangeReadable? file, CancellationToken ct, params DataField?[] fields)
    {
        if (file is null) return ValueTask.CompletedTask;
        var (offset, length) = Span(rg, fields);
        return length == 0 ? ValueTask.CompletedTask : file.PrefetchAsync(offset, length, ct);
    }

    /// <summary>
    /// Reads the caption column into <paramref name="captions"/> as UTF-8 bytes (empty for null): straight into pooled buffers
    /// when the column's layout allows, else through Parquet.Net with every caption encoded into one pooled buffer.
    /// </summary>
    private static async Task ReadTextAsync(ParquetRowGroupReader rg, DataField field, IRangeReadable? file, BinaryColumnReader? raw,
        ReadOnlyMemory<byte>[] captions, PooledBuffers owner, CancellationToken ct)
    {
        int n = captions.Length;
        if (file is not null && raw is not null && rg.GetMetadata(field) is { } chunk)
        {
            try
            {
                await raw.ReadAsync(file, chunk, field.MaxDefinitionLevel, field.MaxRepetitionLevel, captions, owner, ct).ConfigureAwait(false);
                return;
            }
            catch (UnsupportedColumnException)
            {
                // read through Parquet.Net below (buffers rented so far stay with the owner until the chunk is released)
            }
        }
        if (field.ClrType == typeof(byte[]) || field.ClrType == typeof(ReadOnlyMemory<byte>))
        {
            var arrays = new byte[]?[n];
            await rg.ReadAsync(field, arrays.AsMemory(), null, ct).ConfigureAwait(false);
            for (int i = 0; i < n; i++) captions[i] = arrays[i] is { } b ? b : default;
            return;
        }
        var strings = new string?[n];
        await rg.ReadAsync(field, strings.AsMemory(), null, ct).ConfigureAwait(false);
        long total = 0;
        foreach (var t in strings) total += t is null ? 0 : System.Text.Encoding.UTF8.GetByteCount(t);
        var buffer = owner.Rent(checked((int)total));
        int at = 0;
        for (int i = 0; i < n; i++)
        {
            if (strings[i] is not { } t) { captions[i] = default; continue; }
            int written = System.Text.Encoding.UTF8.GetBytes(t, buffer.AsSpan(at));
            captions[i] = buffer.AsMemory(at, written);
            at += written;
        }
    }

    internal static async Task ReadLabelsAsync(ParquetRowGroupReader rg, DataField field, long[] labels, CancellationToken ct)
    {
        int n = labels.Length;
        if (field.ClrType == typeof(long))
        {
            if (field.IsNullable)
            {
                var v = new long?[n];
                await rg.ReadAsync(field, v.AsMemory(), null, ct).ConfigureAwait(false);
                for (int i = 0; i < n; i++) labels[i] = v[i] ?? Sample.NoLabel;
            }
            else
            {
                await rg.ReadAsync(field, labels.AsMemory(), null, ct).ConfigureAwait(false);
            }
        }
        else if (field.ClrType == typeof(int))
        {
            if (field.IsNullable)
            {
                var v = new int?[n];
                await rg.ReadAsync(field, v.AsMemory(), null, ct).ConfigureAwait(false);
                for (int i = 0; i < n; i++) labels[i] = v[i] ?? Sample.NoLabel;
            }
            else
            {
                var v = new int[n];
                await rg.ReadAsync(field, v.AsMemory(), null, ct).ConfigureAwait(false);
                for (int i = 0; i < n; i++) labels[i] = v[i];
            }
        }
        else
        {
            throw new ShardFormatException("", field.Name, $"label column '{field.Name}' has type {field.ClrType.Name}; expected int64 or int32");
        }
    }
}
