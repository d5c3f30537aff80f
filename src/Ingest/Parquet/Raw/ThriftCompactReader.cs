namespace Contrastive.Ingest;

/// <summary>
/// The subset of Thrift's compact protocol that Parquet page headers need: field headers, zigzag varints,
/// and skipping of any field not needed (statistics and the like).
/// </summary>
internal ref struct ThriftCompactReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private short _lastField;

    public int Position { get; private set; }

    public const byte Stop = 0, True = 1, False = 2, Byte = 3, I16 = 4, I32 = 5, I64 = 6, Double = 7, Binary = 8, List = 9, Set = 10, Map = 11, Struct = 12;

    /// <summary>Reads the next field header of the current struct; false at its end.</summary>
    public bool NextField(out short id, out byte type)
    {
        byte b = ReadByte();
        type = (byte)(b & 0x0F);
        if (type == Stop) { id = 0; return false; }
        int delta = b >> 4;
        id = delta == 0 ? (short)ZigZag(ReadVarint()) : (short)(_lastField + delta);
        _lastField = id;
        return true;
    }

    public int ReadI32() => (int)ZigZag(ReadVarint());

    public long ReadI64() => ZigZag(ReadVarint());

    /// <summary>Enters a nested struct; returns the enclosing struct's last field id to hand back to <see cref="EndStruct"/>.</summary>
    public short BeginStruct()
    {
        short saved = _lastField;
        _lastField = 0;
        return saved;
    }

    public void EndStruct(short saved) => _lastField = saved;

    public void Skip(byte type)
    {
        switch (type)
        {
            case True: case False: break; // the value is in the type
            case Byte: Position++; break;
            case I16: case I32: case I64: ReadVarint(); break;
            case Double: Position += 8; break;
            case Binary:
            {
                // The length first: "Position += ReadVarint()" would add it to the position before the length's own bytes.
                int length = checked((int)ReadVarint());
                Position += length;
                break;
            }
            case List:
            case Set:
            {
                byte h = ReadByte();
                int n = h >> 4;
                if (n == 15) n = checked((int)ReadVarint());
                byte et = (byte)(h & 0x0F);
                for (int i = 0; i < n; i++) SkipElement(et);
                break;
            }
            case Map:
            {
                int n = checked((int)ReadVarint());
                if (n == 0) break;
                byte kv = ReadByte();
                for (int i = 0; i < n; i++) { SkipElement((byte)(kv >> 4)); SkipElement((byte)(kv & 0x0F)); }
                break;
            }
            case Struct:
            {
                short saved = BeginStruct();
                while (NextField(out _, out byte t)) Skip(t);
                EndStruct(saved);
                break;
            }
            default:
                throw new InvalidDataException($"unknown thrift compact type {type} at offset {Position}");
        }
        if (Position > _data.Length) throw new InvalidDataException("thrift structure runs past the end of the data");
    }

    // Inside containers booleans take a byte.
    private void SkipElement(byte type)
    {
        if (type is True or False) Position++;
        else Skip(type);
    }

    private byte ReadByte()
    {
        if (Position >= _data.Length) throw new InvalidDataException("thrift structure runs past the end of the data");
        return _data[Position++];
    }

    private ulong ReadVarint()
    {
        ulong v = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            byte b = ReadByte();
            v |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return v;
        }
        throw new InvalidDataException("thrift varint is too long");
    }

    private static long ZigZag(ulong v) => (long)(v >> 1) ^ -(long)(v & 1);
}
