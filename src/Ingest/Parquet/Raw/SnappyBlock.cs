using System.Buffers.Binary;

namespace Contrastive.Ingest;

/// <summary>
/// Decompresses one Snappy block (the raw format Parquet pages use: a varint length, then literals and
/// back-references) straight into the caller's buffer. Snappier's span API decompresses into a scratch array of
/// the page's size rented from the shared ArrayPool and copies it out; with multi-megabyte image pages rented on
/// whichever thread-pool thread finished the read, those scratch arrays land on the large object heap as garbage.
/// This decoder allocates nothing. Malformed input raises <see cref="InvalidDataException"/>.
/// </summary>
internal static class SnappyBlock
{
    /// <summary>The uncompressed length the block declares.</summary>
    public static int DeclaredLength(ReadOnlySpan<byte> src, out int headerLength)
    {
        uint value = 0;
        for (int i = 0, shift = 0; i < 5 && i < src.Length; i++, shift += 7)
        {
            byte b = src[i];
            value |= (uint)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                if (value > int.MaxValue) break;
                headerLength = i + 1;
                return (int)value;
            }
        }
        throw new InvalidDataException("Snappy block: bad length preamble");
    }

    /// <summary>Decompresses <paramref name="src"/> into <paramref name="dst"/>; returns the bytes written (the declared length).</summary>
    public static int Decompress(ReadOnlySpan<byte> src, Span<byte> dst)
    {
        int length = DeclaredLength(src, out int ip);
        if (length > dst.Length) throw new InvalidDataException($"Snappy block: {length} bytes do not fit the {dst.Length}-byte page");
        int op = 0;
        while (ip < src.Length)
        {
            byte tag = src[ip++];
            int kind = tag & 3;
            if (kind == 0)
            {
                int n = tag >> 2;
                if (n >= 60)
                {
                    int bytes = n - 59;
                    if (ip + bytes > src.Length) throw new InvalidDataException("Snappy block: literal length runs past the input");
                    n = 0;
                    for (int i = 0; i < bytes; i++) n |= src[ip + i] << (8 * i);
                    ip += bytes;
                    if (n < 0) throw new InvalidDataException("Snappy block: literal too long");
                }
                n += 1;
                if (n > src.Length - ip || n > length - op) throw new InvalidDataException("Snappy block: literal runs past the input or the output");
                src.Slice(ip, n).CopyTo(dst[op..]);
                ip += n;
                op += n;
                continue;
            }
            int len, offset;
            switch (kind)
            {
                case 1:
                    if (ip >= src.Length) throw new InvalidDataException("Snappy block: truncated copy");
                    len = 4 + ((tag >> 2) & 7);
                    offset = ((tag >> 5) << 8) | src[ip++];
                    break;
                case 2:
                    if (ip + 2 > src.Length) throw new InvalidDataException("Snappy block: truncated copy");
                    len = 1 + (tag >> 2);
                    offset = BinaryPrimitives.ReadUInt16LittleEndian(src[ip..]);
                    ip += 2;
                    break;
                default:
                    if (ip + 4 > src.Length) throw new InvalidDataException("Snappy block: truncated copy");
                    len = 1 + (tag >> 2);
                    offset = BinaryPrimitives.ReadInt32LittleEndian(src[ip..]);
                    ip += 4;
                    break;
            }
            if (offset <= 0 || offset > op) throw new InvalidDataException($"Snappy block: copy offset {offset} at output byte {op}");
            if (len > length - op) throw new InvalidDataException("Snappy block: copy runs past the output");
            if (offset >= len) dst.Slice(op - offset, len).CopyTo(dst[op..]);
            else for (int i = 0; i < len; i++) dst[op + i] = dst[op - offset + i]; // overlapping: a repeating pattern
            op += len;
        }
        if (op != length) throw new InvalidDataException($"Snappy block: {op} bytes decoded, {length} declared");
        return op;
    }
}
