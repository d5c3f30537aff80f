using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using Parquet.Meta;

namespace Contrastive.Ingest;

/// <summary>
/// Reads one flat (non-repeated) BYTE_ARRAY column chunk straight from the file into pooled buffers: the chunk's
/// bytes in one positional read, each page decompressed into a pooled buffer, and every value returned as a slice
/// of those buffers. No array per value, no copy of the image bytes after decompression. Handles data pages v1
/// and v2, PLAIN and dictionary encodings, RLE/bit-packed definition levels, and the UNCOMPRESSED, SNAPPY, GZIP,
/// BROTLI, ZSTD and LZ4_RAW codecs; anything else raises <see cref="UnsupportedColumnException"/>.
/// </summary>
internal sealed class BinaryColumnReader : IDisposable
{
    private readonly ZstdSharp.Decompressor _zstd = new();

    /// <summary>Fills <paramref name="values"/> (one per row; empty for null) from the column chunk described by <paramref name="chunk"/>.</summary>
    public async ValueTask ReadAsync(IRangeReadable source, ColumnChunk chunk, int maxDefinitionLevel, int maxRepetitionLevel, ReadOnlyMemory<byte>[] values,
        PooledBuffers owner, CancellationToken ct)
    {
        var (start, total) = Range(chunk, maxRepetitionLevel);
        var raw = owner.Rent(total);
        await source.ReadExactlyAsync(raw.AsMemory(0, total), start, ct).ConfigureAwait(false);
        Decode(raw, total, chunk.MetaData!, maxDefinitionLevel, values, owner);
    }

    /// <summary>The byte range of the column chunk in its file (dictionary page first, when there is one).</summary>
    private static (long Start, int Total) Range(ColumnChunk chunk, int maxRepetitionLevel)
    {
        if (maxRepetitionLevel != 0) throw new UnsupportedColumnException("repeated column");
        if (chunk.CryptoMetadata is not null || chunk.EncryptedColumnMetadata is not null) throw new UnsupportedColumnException("encrypted column");
        var meta = chunk.MetaData ?? throw new UnsupportedColumnException("no column metadata");
        if (meta.Type != Parquet.Meta.Type.BYTE_ARRAY) throw new UnsupportedColumnException($"physical type {meta.Type}");

        return (ChunkStart(meta), checked((int)meta.TotalCompressedSize));
    }

    /// <summary>Where a column chunk starts in its file: its dictionary page when it has one, else its first data page.</summary>
    internal static long ChunkStart(ColumnMetaData meta) =>
        meta.DictionaryPageOffset is { } d && d > 0 && d < meta.DataPageOffset ? d : meta.DataPageOffset;

    private void Decode(byte[] raw, int total, ColumnMetaData meta, int maxDefinitionLevel, Span<ReadOnlyMemory<byte>> values, PooledBuffers owner)
    {

        int[]? levels = null;
        ReadOnlyMemory<byte>[]? dictionary = null;
        int dictionaryCount = 0;
        bool rawReferenced = meta.Codec == CompressionCodec.UNCOMPRESSED; // values may point into the raw chunk
        try
        {
            int pos = 0, row = 0;
            int defWidth = BitWidth(maxDefinitionLevel);
            while (row < values.Length)
            {
                if (pos >= total) throw new InvalidDataException($"column chunk ends after {row} of {values.Length} values");
                var header = PageHeader.Parse(raw.AsSpan(pos, total - pos), out int headerLength);
                pos += headerLength;
                if (pos + header.CompressedSize > total) throw new InvalidDataException("a page runs past the end of its column chunk");
                var body = raw.AsMemory(pos, header.CompressedSize);
                pos += header.CompressedSize;

                switch (header.Type)
                {
                    case PageHeader.DictionaryPage:
                    {
                        if (header.Encoding is not (0 or 2)) throw new UnsupportedColumnException($"dictionary page encoding {header.Encoding}");
                        var page = Decompress(meta.Codec, body, header.UncompressedSize, owner);
                        dictionaryCount = header.NumValues;
                        dictionary = ArrayPool<ReadOnlyMemory<byte>>.Shared.Rent(Math.Max(1, dictionaryCount));
                        int p = 0;
                        for (int i = 0; i < dictionaryCount; i++) dictionary[i] = NextPlain(page, ref p);
                        break;
                    }
                    case PageHeader.DataPage:
                    case PageHeader.DataPageV2:
                    {
                        int n = header.NumValues;
                        if (n > values.Length - row) throw new InvalidDataException($"pages hold more values than the row group's {values.Length} rows");
                        if (levels is null || levels.Length < n)
                        {
                            if (levels is not null) ArrayPool<int>.Shared.Return(levels);
                            levels = ArrayPool<int>.Shared.Rent(n);
                        }
                        var defs = levels.AsSpan(0, n);
                        ReadOnlyMemory<byte> data;
                        if (header.Type == PageHeader.DataPage)
                        {
                            var page = Decompress(meta.Codec, body, header.UncompressedSize, owner);
                            int p = 0;
                            if (maxDefinitionLevel > 0)
                            {
                                if (header.DefinitionLevelEncoding != 3) throw new UnsupportedColumnException($"definition level encoding {header.DefinitionLevelEncoding}");
                                int len = BinaryPrimitives.ReadInt32LittleEndian(page.Span);
                                if (len < 0 || 4 + len > page.Length) throw new InvalidDataException("definition levels run past their page");
                                RleBitPackedDecoder.Decode(page.Span.Slice(4, len), defWidth, defs);
                                p = 4 + len;
                            }
                            else
                            {
                                defs.Clear();
                            }
                            data = page[p..];
                        }
                        else
                        {
                            int levelBytes = header.RepetitionLevelsByteLength + header.DefinitionLevelsByteLength;
                            if (header.RepetitionLevelsByteLength != 0) throw new UnsupportedColumnException("repetition levels in a flat column");
                            if (levelBytes < 0 || levelBytes > body.Length) throw new InvalidDataException("v2 page levels run past their page");
                            if (maxDefinitionLevel > 0) RleBitPackedDecoder.Decode(body.Span[..header.DefinitionLevelsByteLength], defWidth, defs);
                            else defs.Clear();
                            var rest = body[levelBytes..];
                            data = header.IsCompressed ? Decompress(meta.Codec, rest, header.UncompressedSize - levelBytes, owner) : rest;
                            rawReferenced |= !header.IsCompressed;
                        }
                        DecodeValues(header.Encoding, data, defs, maxDefinitionLevel, dictionary, dictionaryCount, values.Slice(row, n));
                        row += n;
                        break;
                    }
                    default:
                        break; // index pages and unknown page types carry no values
                }
            }
            if (!rawReferenced) owner.Return(raw); // every value lives in a decompressed page: the compressed chunk can go back now
        }
        finally
        {
            if (levels is not null) ArrayPool<int>.Shared.Return(levels);
            if (dictionary is not null) ArrayPool<ReadOnlyMemory<byte>>.Shared.Return(dictionary, clearArray: true);
        }
    }

    private static void DecodeValues(int encoding, ReadOnlyMemory<byte> data, ReadOnlySpan<int> defs, int maxDef,
        ReadOnlyMemory<byte>[]? dictionary, int dictionaryCount, Span<ReadOnlyMemory<byte>> output)
    {
        if (encoding == 0) // PLAIN
        {
            int p = 0;
            for (int i = 0; i < output.Length; i++)
                output[i] = defs[i] == maxDef ? NextPlain(data, ref p) : default;
            return;
        }
        if (encoding is 2 or 8) // PLAIN_DICTIONARY, RLE_DICTIONARY
        {
            if (dictionary is null) throw new InvalidDataException("dictionary-encoded page without a dictionary page");
            int present = 0;
            for (int i = 0; i < defs.Length; i++) if (defs[i] == maxDef) present++;
            var span = data.Span;
            if (span.Length < 1) throw new InvalidDataException("dictionary-encoded page without its bit width");
            var indices = ArrayPool<int>.Shared.Rent(Math.Max(1, present));
            try
            {
                RleBitPackedDecoder.Decode(span[1..], span[0], indices.AsSpan(0, present));
                int k = 0;
                for (int i = 0; i < output.Length; i++)
                {
                    if (defs[i] != maxDef) { output[i] = default; continue; }
                    int index = indices[k++];
                    if ((uint)index >= (uint)dictionaryCount) throw new InvalidDataException($"dictionary index {index} out of range ({dictionaryCount} entries)");
                    output[i] = dictionary[index];
                }
            }
            finally
            {
                ArrayPool<int>.Shared.Return(indices);
            }
            return;
        }
        throw new UnsupportedColumnException($"value encoding {encoding}");
    }

    private static ReadOnlyMemory<byte> NextPlain(ReadOnlyMemory<byte> data, ref int p)
    {
        var span = data.Span;
        if (p + 4 > span.Length) throw new InvalidDataException("a value's length runs past its page");
        int len = BinaryPrimitives.ReadInt32LittleEndian(span[p..]);
        p += 4;
        if (len < 0 || p + len > span.Length) throw new InvalidDataException($"a value of {len} bytes runs past its page");
        var value = data.Slice(p, len);
        p += len;
        return value;
    }

    private ReadOnlyMemory<byte> Decompress(CompressionCodec codec, ReadOnlyMemory<byte> input, int size, PooledBuffers owner)
    {
        if (codec == CompressionCodec.UNCOMPRESSED) return input;
        if (size < 0) throw new InvalidDataException("negative uncompressed page size");
        var output = owner.Rent(size);
        var dst = output.AsSpan(0, size);
        int written;
        switch (codec)
        {
            case CompressionCodec.SNAPPY:
                written = SnappyBlock.Decompress(input.Span, dst);
                break;
            case CompressionCodec.ZSTD:
                written = _zstd.Unwrap(input.Span, dst);
                break;
            case CompressionCodec.BROTLI:
                if (!BrotliDecoder.TryDecompress(input.Span, dst, out written)) throw new InvalidDataException("brotli page does not decompress");
                break;
            case CompressionCodec.LZ4_RAW:
                written = K4os.Compression.LZ4.LZ4Codec.Decode(input.Span, dst);
                break;
            case CompressionCodec.GZIP:
            {
                using var ms = new MemoryStream(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(input, out var seg) ? seg.Array! : input.ToArray(),
                    seg.Array is null ? 0 : seg.Offset, input.Length, writable: false);
                using var gz = new GZipStream(ms, CompressionMode.Decompress);
                written = 0;
                while (written < size)
                {
                    int r = gz.Read(dst[written..]);
                    if (r == 0) break;
                    written += r;
                }
                break;
            }
            default:
                throw new UnsupportedColumnException($"codec {codec}");
        }
        if (written != size) throw new InvalidDataException($"a {codec} page decompressed to {written} bytes, its header says {size}");
        return output.AsMemory(0, size);
    }

    private static int BitWidth(int max) => max == 0 ? 0 : 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)max);

    public void Dispose() => _zstd.Dispose();
}
