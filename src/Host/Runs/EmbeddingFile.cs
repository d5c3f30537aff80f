using Parquet;
using Parquet.Schema;

namespace Contrastive.Host;

/// <summary>
/// Writes `contrastive embed`'s output: one Parquet file of rows `key` (string), `index` (int64), `label` (int64, null
/// when the sample has none), `embedding` (list&lt;float&gt;, every row the same length) and, for caption embeddings,
/// `text` (string). Rows are buffered up to a row group and written as it fills, so only one row group is held at a
/// time. The file is written under a temporary name beside <see cref="Path"/> and renamed on <see cref="CompleteAsync"/>:
/// a reader never sees half a file, and a failed run leaves none (disposing without completing deletes the temporary).
/// </summary>
internal sealed class EmbeddingFile : IAsyncDisposable
{
    /// <summary>Embedding bytes per row group when the row count is not given.</summary>
    public const long RowGroupBytes = 32L << 20;

    /// <summary>Most rows per row group when the row count is not given.</summary>
    public const int MaxRowsPerGroup = 65_536;

    private readonly DataField<string> _key = new("key", nullable: false);
    private readonly DataField<long> _index = new("index");
    private readonly DataField<long?> _label = new("label");
    private readonly DataField<float> _element = new("element");
    private readonly DataField<string> _text = new("text", nullable: false);
    private readonly ParquetSchema _schema;
    private readonly FileStream _stream;
    private readonly string _temp;
    private readonly int? _rowsPerGroup;
    private ParquetWriter? _writer;
    private bool _completed;

    private readonly List<string> _keys = [], _texts = [];
    private readonly List<long> _indices = [];
    private readonly List<long?> _labels = [];
    private readonly List<float> _values = [];
    private int _groupRows;

    private EmbeddingFile(string path, bool text, int? rowsPerGroup)
    {
        Path = System.IO.Path.GetFullPath(path);
        HasText = text;
        _rowsPerGroup = rowsPerGroup;
        Field[] fields = [_key, _index, _label, new ListField("embedding", _element)];
        _schema = new ParquetSchema(text ? [.. fields, _text] : fields);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        _temp = Path + ".tmp-" + Environment.ProcessId;
        _stream = new FileStream(_temp, FileMode.Create, FileAccess.Write, FileShare.None);
    }

    /// <summary>Starts the file at <paramref name="path"/> (a temporary beside it until completed).</summary>
    /// <param name="text">Whether rows carry a `text` column.</param>
    /// <param name="rowsPerGroup">Rows per row group; null: as many as hold <see cref="RowGroupBytes"/> of embeddings, at most <see cref="MaxRowsPerGroup"/>.</param>
    public static async Task<EmbeddingFile> CreateAsync(string path, bool text, int? rowsPerGroup = null, CancellationToken ct = default)
    {
        if (rowsPerGroup is < 1) throw new ArgumentOutOfRangeException(nameof(rowsPerGroup), "a row group holds at least one row");
        var file = new EmbeddingFile(path, text, rowsPerGroup);
        try
        {
            file._writer = await ParquetWriter.CreateAsync(file._schema, file._stream, new ParquetOptions { CompressionMethod = CompressionMethod.Snappy },
                cancellationToken: ct).ConfigureAwait(false);
            return file;
        }
        catch
        {
            await file.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The file's full path (where it is once completed).</summary>
    public string Path { get; }

    public bool HasText { get; }

    /// <summary>Values per embedding, set by the first row (0 before).</summary>
    public int Dims { get; private set; }

    /// <summary>Rows added so far.</summary>
    public long Rows { get; private set; }

    /// <summary>Rows per row group (known once the first row has set <see cref="Dims"/>).</summary>
    public int RowsPerGroup => _rowsPerGroup ?? (int)Math.Clamp(RowGroupBytes / (sizeof(float) * (long)Math.Max(1, Dims)), 1, MaxRowsPerGroup);

    /// <summary>Adds a row; writes a row group when one is full.</summary>
    /// <param name="label">Null when the sample has no label.</param>
    /// <param name="text">The caption; required when the file has a text column, refused otherwise.</param>
    public async ValueTask AddAsync(string key, long index, long? label, ReadOnlyMemory<float> embedding, string? text = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (HasText != text is not null) throw new ArgumentException(HasText ? "the file has a text column: every row needs its text" : "the file has no text column", nameof(text));
        if (embedding.Length == 0) throw new ArgumentException("an embedding has at least one value", nameof(embedding));
        if (Dims == 0) Dims = embedding.Length;
        else if (embedding.Length != Dims) throw new ArgumentException($"an embedding of {embedding.Length} values in a file of {Dims}", nameof(embedding));
        _keys.Add(key);
        _indices.Add(index);
        _labels.Add(label);
        foreach (float v in embedding.Span) _values.Add(v);
        if (text is not null) _texts.Add(text);
        _groupRows++;
        Rows++;
        if (_groupRows >= RowsPerGroup) await FlushAsync(ct).ConfigureAwait(false);
    }

    private async Task FlushAsync(CancellationToken ct)
    {
        if (_groupRows == 0) return;
        using (var rg = _writer!.CreateRowGroup())
        {
            await rg.WriteAsync(_key, _keys, null).ConfigureAwait(false);
            await rg.WriteAsync<long>(_index, _indices.ToArray(), null, null, ct).ConfigureAwait(false);
            await rg.WriteAsync<long>(_label, _labels.ToArray(), null, null, ct).ConfigureAwait(false);
            // One list per row, every element present: the first of a row starts a new record (repetition 0).
            int n = _values.Count, maxDef = _element.MaxDefinitionLevel, maxRep = _element.MaxRepetitionLevel;
            var definitions = new int[n];
            var repetitions = new int[n];
            Array.Fill(definitions, maxDef);
            for (int i = 0; i < n; i++) repetitions[i] = i % Dims == 0 ? 0 : maxRep;
            await rg.WriteAllPartsAsync<float>(_element, _values.ToArray(), definitions, repetitions, ct).ConfigureAwait(false);
            if (HasText) await rg.WriteAsync(_text, _texts, null).ConfigureAwait(false);
        }
        _keys.Clear();
        _indices.Clear();
        _labels.Clear();
        _values.Clear();
        _texts.Clear();
        _groupRows = 0;
    }

    /// <summary>Writes the last row group and the footer, flushes to disk and renames the file into place.</summary>
    public async Task CompleteAsync(CancellationToken ct = default)
    {
        if (Rows == 0) throw new InvalidOperationException("no rows to write");
        await FlushAsync(ct).ConfigureAwait(false);
        await _writer!.DisposeAsync().ConfigureAwait(false);
        _writer = null;
        await _stream.FlushAsync(ct).ConfigureAwait(false);
        _stream.Flush(flushToDisk: true);
        await _stream.DisposeAsync().ConfigureAwait(false);
        File.Move(_temp, Path, overwrite: true);
        _completed = true;
    }

    public async ValueTask DisposeAsync()
    {
        if (_completed) return;
        try
        {
            if (_writer is not null) await _writer.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // the footer of a file that is deleted next: the error that stopped the run is the one to report
        }
        await _stream.DisposeAsync().ConfigureAwait(false);
        if (File.Exists(_temp)) File.Delete(_temp);
    }
}
