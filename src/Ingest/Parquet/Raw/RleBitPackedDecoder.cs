namespace Contrastive.Ingest;

/// <summary>Parquet's RLE / bit-packing hybrid encoding (definition levels, dictionary indices).</summary>
internal static class RleBitPackedDecoder
{
    /// <summary>Decodes <paramref name="output"/>.Length values of <paramref name="bitWidth"/> bits.</summary>
    public static void Decode(ReadOnlySpan<byte> data, int bitWidth, Span<int> output)
    {
        if (bitWidth is < 0 or > 32) throw new InvalidDataException($"invalid bit width {bitWidth}");
        if (bitWidth == 0) { output.Clear(); return; }
        int pos = 0, n = 0;
        int byteWidth = (bitWidth + 7) / 8;
        while (n < output.Length)
        {
            uint header = ReadVarint(data, ref pos);
            if ((header & 1) == 0)
            {
                int run = (int)(header >> 1);
                if (pos + byteWidth > data.Length) throw new InvalidDataException("RLE run past the end of its data");
                int value = 0;
                for (int b = 0; b < byteWidth; b++) value |= data[pos + b] << (8 * b);
                pos += byteWidth;
                int take = Math.Min(run, output.Length - n);
                output.Slice(n, take).Fill(value);
                n += take;
            }
            else
            {
                int values = (int)(header >> 1) * 8;
                int bytes = values * bitWidth / 8;
                if (pos + bytes > data.Length)
                {
                    // The last group may be cut short when it holds more than the remaining values.
                    bytes = data.Length - pos;
                    values = Math.Min(values, bytes * 8 / bitWidth);
                }
                int take = Math.Min(values, output.Length - n);
                ulong buffer = 0;
                int bits = 0, p = pos;
                uint mask = bitWidth == 32 ? uint.MaxValue : (1u << bitWidth) - 1;
                for (int i = 0; i < take; i++)
                {
                    while (bits < bitWidth) { buffer |= (ulong)data[p++] << bits; bits += 8; }
                    output[n + i] = (int)(buffer & mask);
                    buffer >>= bitWidth;
                    bits -= bitWidth;
                }
                n += take;
                pos += bytes;
            }
            if (n < output.Length && pos >= data.Length) throw new InvalidDataException("RLE/bit-packed data ends before all values");
        }
    }

    private static uint ReadVarint(ReadOnlySpan<byte> data, ref int pos)
    {
        uint v = 0;
        for (int shift = 0; shift < 35; shift += 7)
        {
            if (pos >= data.Length) throw new InvalidDataException("RLE header past the end of its data");
            byte b = data[pos++];
            v |= (uint)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return v;
        }
        throw new InvalidDataException("RLE header varint is too long");
    }
}
