namespace Contrastive.Ingest;

/// <summary>The fields of a Parquet PageHeader that reading a flat BYTE_ARRAY column needs.</summary>
internal struct PageHeader
{
    public const int DataPage = 0, IndexPage = 1, DictionaryPage = 2, DataPageV2 = 3;

    public int Type;
    public int UncompressedSize;
    public int CompressedSize;
    public int NumValues;
    public int Encoding;
    public int DefinitionLevelEncoding;
    public int DefinitionLevelsByteLength; // v2
    public int RepetitionLevelsByteLength; // v2
    public bool IsCompressed;              // v2 (default true)

    /// <summary>Parses a page header at the start of <paramref name="data"/>; <paramref name="length"/> is its size in bytes.</summary>
    public static PageHeader Parse(ReadOnlySpan<byte> data, out int length)
    {
        var h = new PageHeader { IsCompressed = true, Encoding = -1 };
        var r = new ThriftCompactReader(data);
        while (r.NextField(out short id, out byte type))
        {
            switch (id)
            {
                case 1 when type == ThriftCompactReader.I32: h.Type = r.ReadI32(); break;
                case 2 when type == ThriftCompactReader.I32: h.UncompressedSize = r.ReadI32(); break;
                case 3 when type == ThriftCompactReader.I32: h.CompressedSize = r.ReadI32(); break;
                case 5 when type == ThriftCompactReader.Struct: ReadDataPageHeader(ref r, ref h, v2: false); break;
                case 7 when type == ThriftCompactReader.Struct: ReadDictionaryPageHeader(ref r, ref h); break;
                case 8 when type == ThriftCompactReader.Struct: ReadDataPageHeader(ref r, ref h, v2: true); break;
                default: r.Skip(type); break;
            }
        }
        if (h.CompressedSize < 0 || h.UncompressedSize < 0) throw new InvalidDataException("negative page size in a page header");
        length = r.Position;
        return h;
    }

    private static void ReadDataPageHeader(ref ThriftCompactReader r, ref PageHeader h, bool v2)
    {
        short saved = r.BeginStruct();
        while (r.NextField(out short id, out byte type))
        {
            if (!v2)
            {
                switch (id)
                {
                    case 1 when type == ThriftCompactReader.I32: h.NumValues = r.ReadI32(); break;
                    case 2 when type == ThriftCompactReader.I32: h.Encoding = r.ReadI32(); break;
                    case 3 when type == ThriftCompactReader.I32: h.DefinitionLevelEncoding = r.ReadI32(); break;
                    default: r.Skip(type); break;
                }
            }
            else
            {
                switch (id)
                {
                    case 1 when type == ThriftCompactReader.I32: h.NumValues = r.ReadI32(); break;
                    case 4 when type == ThriftCompactReader.I32: h.Encoding = r.ReadI32(); break;
                    case 5 when type == ThriftCompactReader.I32: h.DefinitionLevelsByteLength = r.ReadI32(); break;
                    case 6 when type == ThriftCompactReader.I32: h.RepetitionLevelsByteLength = r.ReadI32(); break;
                    case 7 when type is ThriftCompactReader.True or ThriftCompactReader.False: h.IsCompressed = type == ThriftCompactReader.True; break;
                    default: r.Skip(type); break;
                }
            }
        }
        r.EndStruct(saved);
    }

    private static void ReadDictionaryPageHeader(ref ThriftCompactReader r, ref PageHeader h)
    {
        short saved = r.BeginStruct();
        while (r.NextField(out short id, out byte type))
        {
            switch (id)
            {
                case 1 when type == ThriftCompactReader.I32: h.NumValues = r.ReadI32(); break;
                case 2 when type == ThriftCompactReader.I32: h.Encoding = r.ReadI32(); break;
                default: r.Skip(type); break;
            }
        }
        r.EndStruct(saved);
    }
}
