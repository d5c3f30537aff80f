using System.Buffers.Binary;

using Parquet.Meta;

namespace Contrastive.Ingest.Tests;

/// <summary>
/// Column chunks encoded by hand from the Parquet and Thrift compact-protocol specifications, for layouts the
/// writers available here do not produce (data pages v2) and for edge cases of the level encoding.
/// </summary>
public class HandEncodedPageTests
{
    private sealed class Compact
    {
        private readonly List<byte> _b = [];
        private readonly Stack<short> _last = new();
        private short _field;

        public byte[] ToArray() => [.. _b];

        public Compact I32(short id, int v) { Header(id, 5); Varint((uint)((v << 1) ^ (v >> 31))); return this; }

        public Compact Bool(short id, bool v) { Header(id, (byte)(v ? 1 : 2)); return this; }

        public Compact Binary(short id, string v)
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(v);
            Header(id, 8);
            Varint((uint)bytes.Length);
            _b.AddRange(bytes);
            return this;
        }

        public Compact Begin(short id) { Header(id, 12); _last.Push(_field); _field = 0; return this; }

        public Compact End() { _b.Add(0); _field = _last.Count > 0 ? _last.Pop() : (short)0; return this; }

        private void Header(short id, byte type)
        {
            int delta = id - _field;
            if (delta is > 0 and <= 15) _b.Add((byte)(delta << 4 | type));
            else { _b.Add(type); Varint((uint)((id << 1) ^ (id >> 15))); }
            _field = id;
        }

        private void Varint(uint v)
        {
            while (v >= 0x80) { _b.Add((byte)(v | 0x80)); v >>= 7; }
            _b.Add((byte)v);
        }
    }

    private static byte[] Plain(params string?[] values)
    {
        var b = new List<byte>();
        foreach (var v in values)
        {
            if (v is null) continue;
            var bytes = System.Text.Encoding.ASCII.GetBytes(v);
            var len = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(len, bytes.Length);
            b.AddRange(len);
            b.AddRange(bytes);
        }
        return [.. b];
    }

    private static ReadOnlyMemory<byte>[] ReadChunk(byte[] chunk, int rows, int maxDef, CompressionCodec codec = CompressionCodec.UNCOMPRESSED)
    {
        string path = Path.Combine(Path.GetTempPath(), "page-" + Guid.NewGuid().ToString("N"));
        File.WriteAllBytes(path, chunk);
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
            var meta = new ColumnChunk { MetaData = new ColumnMetaData { Type = Parquet.Meta.Type.BYTE_ARRAY, Codec = codec, DataPageOffset = 0, TotalCompressedSize = chunk.Length, NumValues = rows } };
            var values = new ReadOnlyMemory<byte>[rows];
            using var owner = new PooledBuffers();
            using var reader = new BinaryColumnReader();
            reader.ReadAsync(new LocalRangeReader(handle, path), meta, maxDef, 0, values, owner, CancellationToken.None).AsTask().GetAwaiter().GetResult();
            return values.Select(v => (ReadOnlyMemory<byte>)v.ToArray()).ToArray();
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static string[] Strings(ReadOnlyMemory<byte>[] values) => values.Select(v => System.Text.Encoding.ASCII.GetString(v.Span)).ToArray();

    [Fact]
    public void Data_page_v2_with_uncompressed_levels_and_values()
    {
        // Definition levels 1,1,0,1 (bit width 1): one bit-packed group: header (1 << 1) | 1 = 3, bits LSB first = 0b1011.
        byte[] levels = [3, 0b0000_1011];
        byte[] values = Plain("ab", "cde", null, "f");
        var body = levels.Concat(values).ToArray();
        var header = new Compact().I32(1, PageHeader.DataPageV2).I32(2, body.Length).I32(3, body.Length)
            .Begin(8).I32(1, 4).I32(2, 1).I32(3, 4).I32(4, 0).I32(5, levels.Length).I32(6, 0).Bool(7, false).End()
            .End().ToArray();
        var result = ReadChunk([.. header, .. body], 4, maxDef: 1);
        Assert.Equal(new[] { "ab", "cde", "", "f" }, Strings(result));
    }

    [Fact]
    public void Two_v1_pages_with_rle_runs_and_a_dictionary()
    {
        // Dictionary page: PLAIN "x", "yy", "zzz".
        byte[] dict = Plain("x", "yy", "zzz");
        var dictHeader = new Compact().I32(1, PageHeader.DictionaryPage).I32(2, dict.Length).I32(3, dict.Length)
            .Begin(7).I32(1, 3).I32(2, 0).End().End().ToArray();

        // Page 1, 5 values: def levels RLE run of five 1s (header 5 << 1 = 10, value byte 1); RLE_DICTIONARY indices
        // bit width 2: bit-packed group of 8 (header 3) holding 2,0,1,1,2 (+ padding) = bits 10 00 01 01 | 10 ...
        byte[] defs1 = [10, 1];
        byte[] idx1 = [2, 3, 0b0101_0010, 0b0000_0010];
        var page1 = LengthPrefixed(defs1).Concat(idx1).ToArray();
        var h1 = new Compact().I32(1, PageHeader.DataPage).I32(2, page1.Length).I32(3, page1.Length)
            .Begin(5).I32(1, 5).I32(2, 8).I32(3, 3).I32(4, 3).End().End().ToArray();

        // Page 2, 3 values with a null in the middle: defs bit-packed 1,0,1; PLAIN values.
        byte[] defs2 = [3, 0b0000_0101];
        var page2 = LengthPrefixed(defs2).Concat(Plain("p", null, "qq")).ToArray();
        var h2 = new Compact().I32(1, PageHeader.DataPage).I32(2, page2.Length).I32(3, page2.Length)
            .Begin(5).I32(1, 3).I32(2, 0).I32(3, 3).I32(4, 3).End().End().ToArray();

        var result = ReadChunk([.. dictHeader, .. dict, .. h1, .. page1, .. h2, .. page2], 8, maxDef: 1);
        Assert.Equal(new[] { "zzz", "x", "yy", "yy", "zzz", "p", "", "qq" }, Strings(result));
    }

    [Fact]
    public void Page_statistics_with_binary_min_and_max_values_are_skipped()
    {
        // Parquet.Net writes min/max statistics for string columns (caption text): fields 1, 2, 5 and 6 of the statistics struct
        // are binary; skipping them must step over each value's length varint and bytes exactly.
        var body = Plain("a caption", "another caption that is longer");
        var header = new Compact().I32(1, PageHeader.DataPage).I32(2, body.Length).I32(3, body.Length)
            .Begin(5).I32(1, 2).I32(2, 0).I32(3, 3).I32(4, 3)
            .Begin(5).Binary(1, "another caption that is longer").Binary(2, "a caption").I32(3, 0).Binary(5, "another caption that is longer")
            .Binary(6, "a caption").End()
            .End().End().ToArray();
        var result = ReadChunk([.. header, .. body], 2, maxDef: 0);
        Assert.Equal(new[] { "a caption", "another caption that is longer" }, Strings(result));
    }

    [Fact]
    public void A_page_claiming_more_bytes_than_the_chunk_is_an_error()
    {
        var body = Plain("abc");
        var header = new Compact().I32(1, PageHeader.DataPage).I32(2, body.Length).I32(3, body.Length + 100)
            .Begin(5).I32(1, 1).I32(2, 0).I32(3, 3).I32(4, 3).End().End().ToArray();
        Assert.Throws<InvalidDataException>(() => ReadChunk([.. header, .. body], 1, maxDef: 0));
    }

    private static byte[] LengthPrefixed(byte[] b)
    {
        var len = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(len, b.Length);
        return [.. len, .. b];
    }
}
