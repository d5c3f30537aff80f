using System.Buffers.Binary;
using System.IO.Compression;

namespace Contrastive.Ingest;

/// <summary>
/// An image set in the IDX format of MNIST and Fashion-MNIST: <c>*-images-idx3-ubyte[.gz]</c> (unsigned bytes, N × rows ×
/// cols, grayscale) with labels from the <c>*-labels-idx1-ubyte[.gz]</c> file beside it when there is one. The file is read
/// into memory once (these sets are tens of MB); samples are handed on as uncompressed 8-bit grayscale BMP images, which
/// every decoder reads, in chunks of <see cref="ChunkSize"/> images (the read unit for ranks and cursors): consecutive images,
/// or with shuffling consecutive entries of a permutation of all the images.
/// </summary>
public sealed class IdxDataset : IImageDataset
{
    private const int BmpHeader = 14 + 40 + 256 * 4; // file header, BITMAPINFOHEADER, gray palette

    private readonly byte[] _pixels; // N × rows × cols
    private readonly long[] _labels;
    private readonly int _rows, _cols, _stride, _bmpBytes;
    private readonly byte[] _header; // the BMP header shared by every image

    private IdxDataset(string uri, string path, byte[] pixels, int count, int rows, int cols, long[] labels, string? labelPath, int chunkSize)
    {
        Uri = uri;
        Path = path;
        _pixels = pixels;
        SampleCount = count;
        _rows = rows;
        _cols = cols;
        _labels = labels;
        HasLabels = labelPath is not null;
        ChunkSize = chunkSize;
        _stride = (cols + 3) & ~3;
        _bmpBytes = BmpHeader + _stride * rows;
        _header = MakeHeader(cols, rows, _stride);
        Columns = new Dictionary<string, string>
        {
            ["image"] = $"idx3 ubyte {rows}×{cols} (as 8-bit BMP)",
            ["label"] = labelPath is null ? "(none: no labels file beside it)" : System.IO.Path.GetFileName(labelPath),
        };
    }

    public string Uri { get; }

    /// <summary>The images file.</summary>
    public string Path { get; }

    public string Format => "idx";

    public int ShardCount => 1;

    public long SampleCount { get; }

    public bool HasLabels { get; }

    /// <summary>Never: the format has no captions.</summary>
    public bool HasCaptions => false;

    public IReadOnlyDictionary<string, string> Columns { get; }

    public IReadOnlyList<string>? ClassNames => null;

    /// <summary>Images per chunk. Default 500.</summary>
    public int ChunkSize { get; }

    /// <summary>Image side lengths.</summary>
    public (int Rows, int Cols) Shape => (_rows, _cols);

    /// <summary>Whether <paramref name="path"/> names an IDX images file (by its name: "…idx3-ubyte" or "…idx3-ubyte.gz").</summary>
    public static bool IsImagesFile(string path)
    {
        string name = System.IO.Path.GetFileName(path);
        return name.EndsWith("idx3-ubyte", StringComparison.OrdinalIgnoreCase) || name.EndsWith("idx3-ubyte.gz", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The labels file that goes with an images file: "train-images-idx3-ubyte.gz" → "train-labels-idx1-ubyte.gz".</summary>
    public static string LabelsPathFor(string imagesPath)
    {
        string dir = System.IO.Path.GetDirectoryName(imagesPath) ?? "";
        string name = System.IO.Path.GetFileName(imagesPath).Replace("images", "labels", StringComparison.OrdinalIgnoreCase)
            .Replace("idx3", "idx1", StringComparison.OrdinalIgnoreCase);
        return System.IO.Path.Combine(dir, name);
    }

    /// <exception cref="DataSourceException">The file is missing, truncated or not an IDX ubyte image file, or its labels file does not match.</exception>
    public static IdxDataset Open(string uri, string path, int chunkSize = 500)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, 1);
        if (!File.Exists(path)) throw new DataSourceException(uri, $"IDX file '{uri}' does not exist.");
        var bytes = ReadAll(uri, path);
        if (bytes.Length < 16 || BinaryPrimitives.ReadInt32BigEndian(bytes) != 0x00000803)
            throw new DataSourceException(uri, $"'{uri}' is not an IDX image file: it should start with the magic number 0x00000803 (unsigned bytes, 3 dimensions)" +
                (bytes.Length >= 4 ? $", found 0x{BinaryPrimitives.ReadInt32BigEndian(bytes):X8}." : ", but it is shorter than its header."));
        int count = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4)), rows = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(8)),
            cols = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(12));
        if (count < 0 || rows < 1 || cols < 1 || rows > 65535 || cols > 65535)
            throw new DataSourceException(uri, $"'{uri}': implausible IDX dimensions {count} × {rows} × {cols}.");
        long expected = 16 + (long)count * rows * cols;
        if (bytes.Length < expected)
            throw new DataSourceException(uri, $"'{uri}' is truncated: its header says {count} images of {rows}×{cols} ({expected} bytes), the file has {bytes.Length} bytes.");
        var pixels = bytes.AsSpan(16, (int)(expected - 16)).ToArray();

        string labelsPath = LabelsPathFor(path);
        var labels = new long[count];
        string? found = null;
        if (!string.Equals(labelsPath, path, StringComparison.Ordinal) && File.Exists(labelsPath))
        {
            var l = ReadAll(labelsPath, labelsPath);
            if (l.Length < 8 || BinaryPrimitives.ReadInt32BigEndian(l) != 0x00000801)
                throw new DataSourceException(labelsPath, $"'{labelsPath}' (the labels for '{uri}') is not an IDX label file: it should start with the magic number 0x00000801.");
            int n = BinaryPrimitives.ReadInt32BigEndian(l.AsSpan(4));
            if (n != count || l.Length < 8 + n)
                throw new DataSourceException(labelsPath, $"'{labelsPath}' has {n} labels ({l.Length - 8} bytes of them) for the {count} images of '{uri}'.");
            for (int i = 0; i < count; i++) labels[i] = l[8 + i];
            found = labelsPath;
        }
        else
        {
            Array.Fill(labels, Sample.NoLabel);
        }
        return new IdxDataset(uri, path, pixels, count, rows, cols, labels, found, chunkSize);
    }

    private static byte[] ReadAll(string uri, string path)
    {
        try
        {
            if (!path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)) return File.ReadAllBytes(path);
            using var file = File.OpenRead(path);
            using var gz = new GZipStream(file, CompressionMode.Decompress);
            var ms = new MemoryStream();
            gz.CopyTo(ms);
            return ms.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new DataSourceException(uri, $"'{uri}' is not a readable gzip file: {e.Message}", e);
        }
        catch (IOException e)
        {
            throw new DataSourceException(uri, $"'{uri}' could not be read: {e.Message}", e);
        }
    }

    private static byte[] MakeHeader(int width, int height, int stride)
    {
        var h = new byte[BmpHeader];
        var s = h.AsSpan();
        s[0] = (byte)'B'; s[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(s[2..], BmpHeader + stride * height); // file size
        BinaryPrimitives.WriteInt32LittleEndian(s[10..], BmpHeader);                  // pixel data offset
        BinaryPrimitives.WriteInt32LittleEndian(s[14..], 40);                         // BITMAPINFOHEADER
        BinaryPrimitives.WriteInt32LittleEndian(s[18..], width);
        BinaryPrimitives.WriteInt32LittleEndian(s[22..], -height);                    // top-down rows
        BinaryPrimitives.WriteInt16LittleEndian(s[26..], 1);                          // planes
        BinaryPrimitives.WriteInt16LittleEndian(s[28..], 8);                          // bits per pixel
        BinaryPrimitives.WriteInt32LittleEndian(s[34..], stride * height);            // image size (no compression)
        BinaryPrimitives.WriteInt32LittleEndian(s[46..], 256);                        // palette entries
        for (int i = 0; i < 256; i++)
        {
            int p = 54 + i * 4;
            s[p] = s[p + 1] = s[p + 2] = (byte)i;
        }
        return h;
    }

    /// <summary>
    /// Streams the images in chunks of up to <see cref="ChunkSize"/>: with shuffling, consecutive slices of a permutation
    /// of all the images (the data is in memory, so any order costs the same); otherwise in stored order.
    /// </summary>
    public async IAsyncEnumerable<SampleChunk> ReadAsync(ReadPlan plan, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        foreach (var (position, samples, skipped) in SampleOrder.Slices((int)SampleCount, ChunkSize, plan))
        {
            ct.ThrowIfCancellationRequested();
            await Task.Yield(); // the data is in memory: let the consumer run between chunks
            yield return MakeChunk(samples, plan.Epoch, position, skipped);
        }
    }

    private SampleChunk MakeChunk(int[] samples, int epoch, int unit, int offset)
    {
        int n = samples.Length;
        var owner = new PooledBuffers();
        try
        {
            var buffer = owner.Rent(checked(n * _bmpBytes));
            var images = new ReadOnlyMemory<byte>[n];
            var labels = new long[n];
            var indices = new long[n];
            int size = _rows * _cols;
            for (int i = 0; i < n; i++)
            {
                int s = samples[i];
                var bmp = buffer.AsSpan(i * _bmpBytes, _bmpBytes);
                _header.CopyTo(bmp);
                var src = _pixels.AsSpan(s * size, size);
                for (int y = 0; y < _rows; y++)
                {
                    var row = bmp.Slice(BmpHeader + y * _stride, _stride);
                    src.Slice(y * _cols, _cols).CopyTo(row);
                    row[_cols..].Clear();
                }
                images[i] = buffer.AsMemory(i * _bmpBytes, _bmpBytes);
                labels[i] = _labels[s];
                indices[i] = s;
            }
            return new SampleChunk(Path, unit, epoch, images, labels, indices, null, owner) { Unit = unit, Offset = offset };
        }
        catch
        {
            owner.Dispose();
            throw;
        }
    }
}
