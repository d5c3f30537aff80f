using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// The safetensors format (Hugging Face's): an 8-byte little-endian header length, a JSON header mapping each tensor's
/// name to its <c>dtype</c>, <c>shape</c> and <c>data_offsets</c> (from the end of the header) plus an optional
/// <c>__metadata__</c> object of strings, then the tensors' bytes, little-endian, row-major. Written here with the header
/// padded by spaces to a multiple of 8 bytes (as the reference writer does) and the tensors in the order given.
/// </summary>
public sealed class SafeTensors
{
    /// <summary>The most the header may take (100 MB, the reference reader's bound): a larger length is a damaged file.</summary>
    public const long MaxHeader = 100_000_000;

    private SafeTensors(string path, IReadOnlyDictionary<string, string> metadata, IReadOnlyList<Entry> entries)
    {
        Path = path;
        Metadata = metadata;
        Entries = entries;
    }

    /// <summary>Where the file was read from.</summary>
    public string Path { get; }

    /// <summary>The header's <c>__metadata__</c> (empty when there is none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensors, in the order of their data in the file.</summary>
    public IReadOnlyList<Entry> Entries { get; }

    /// <summary>One tensor: its name, dtype as the format spells it (F32, I64, F16, BF16, ...), shape and raw bytes.</summary>
    public sealed record Entry(string Name, string DType, long[] Shape, byte[] Data);

    /// <summary>Writes <paramref name="tensors"/> (float32 or int64, any device) and <paramref name="metadata"/> to <paramref name="path"/>
    /// atomically (a temporary file renamed over it).</summary>
    public static void Write(string path, IEnumerable<(string Name, Tensor Value)> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        var list = tensors.ToList();
        var header = new JsonObject();
        if (metadata.Count > 0)
        {
            var meta = new JsonObject();
            foreach (var (k, v) in metadata) meta[k] = v;
            header["__metadata__"] = meta;
        }
        var blobs = new List<byte[]>(list.Count);
        long offset = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, value) in list)
        {
            if (!seen.Add(name)) throw new ArgumentException($"tensor '{name}' is given twice");
            var bytes = Bytes(value, out string dtype);
            header[name] = new JsonObject
            {
                ["dtype"] = dtype,
                ["shape"] = new JsonArray(value.shape.Select(d => (JsonNode)JsonValue.Create(d)).ToArray()),
                ["data_offsets"] = new JsonArray(JsonValue.Create(offset), JsonValue.Create(offset + bytes.Length)),
            };
            offset += bytes.Length;
            blobs.Add(bytes);
        }
        byte[] json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (json.Length + 7) / 8 * 8;
        string? dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        string tmp = path + ".tmp";
        try
        {
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                Span<byte> len = stackalloc byte[8];
                BinaryPrimitives.WriteInt64LittleEndian(len, padded);
                fs.Write(len);
                fs.Write(json);
                for (int i = json.Length; i < padded; i++) fs.WriteByte((byte)' ');
                foreach (var b in blobs) fs.Write(b);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { }
            throw;
        }
    }

    /// <summary>Reads and checks a safetensors file (header, offsets, sizes).</summary>
    /// <exception cref="InvalidDataException">The file is not safetensors or is damaged; the message names it and says what.</exception>
    public static SafeTensors Read(string path)
    {
        byte[] all;
        try { all = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"'{path}' cannot be read: {e.Message}", e);
        }
        if (all.Length < 8) throw new InvalidDataException($"'{path}' is not a safetensors file ({all.Length} bytes, shorter than its header length).");
        long headerLength = BinaryPrimitives.ReadInt64LittleEndian(all);
        if (headerLength < 2 || headerLength > MaxHeader || 8 + headerLength > all.Length)
            throw new InvalidDataException($"'{path}' is not a safetensors file (header length {headerLength} in a file of {all.Length} bytes).");
        JsonObject header;
        try { header = JsonNode.Parse(all.AsSpan(8, (int)headerLength))?.AsObject() ?? throw new JsonException("empty header"); }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new InvalidDataException($"'{path}' is not a safetensors file (its header is not a JSON object: {e.Message}).", e);
        }
        var data = all.AsMemory(8 + (int)headerLength);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var entries = new List<(long Begin, Entry Entry)>();
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__")
            {
                if (node is JsonObject meta)
                    foreach (var (k, v) in meta)
                        metadata[k] = v is JsonValue value && value.TryGetValue<string>(out var s) ? s
                            : throw new InvalidDataException($"'{path}': metadata '{k}' is not a string (the format allows strings only).");
                continue;
            }
            try
            {
                var o = node!.AsObject();
                string dtype = o["dtype"]!.GetValue<string>();
                long[] shape = o["shape"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
                var offsets = o["data_offsets"]!.AsArray();
                long begin = offsets[0]!.GetValue<long>(), end = offsets[1]!.GetValue<long>();
                long count = shape.Aggregate(1L, (a, d) => d < 0 ? throw new InvalidDataException("negative dimension") : a * d);
                int size = ElementSize(dtype) ?? throw new InvalidDataException($"dtype {dtype} is not read here (F32, F16, BF16, F64, I64, I32)");
                if (begin < 0 || end < begin || end > data.Length)
                    throw new InvalidDataException($"data offsets [{begin}, {end}] outside the {data.Length} data bytes");
                if (end - begin != count * size)
                    throw new InvalidDataException($"{end - begin} bytes for {count} {dtype} values of shape [{string.Join(", ", shape)}]");
                entries.Add((begin, new Entry(name, dtype, shape, data.Slice((int)begin, (int)(end - begin)).ToArray())));
            }
            catch (Exception e) when (e is InvalidOperationException or NullReferenceException or FormatException or JsonException or InvalidDataException)
            {
                throw new InvalidDataException($"'{path}': tensor '{name}' has a bad header entry ({e.Message}).", e);
            }
        }
        entries.Sort((a, b) => a.Begin.CompareTo(b.Begin));
        return new SafeTensors(path, metadata, entries.Select(e => e.Entry).ToArray());
    }

    /// <summary>Bytes per element of a dtype read here; null for the others.</summary>
    public static int? ElementSize(string dtype) => dtype switch
    {
        "F32" or "I32" => 4,
        "F16" or "BF16" => 2,
        "F64" or "I64" => 8,
        _ => null,
    };

    /// <summary>The entry's values as a CPU tensor of <paramref name="type"/> (float32 from F32, F16, BF16 or F64; int64 from I64 or I32).</summary>
    public static Tensor ToTensor(Entry e, ScalarType type)
    {
        if (type == ScalarType.Float32)
        {
            var values = new float[e.Data.Length / ElementSize(e.DType)!.Value];
            var d = e.Data.AsSpan();
            switch (e.DType)
            {
                case "F32":
                    for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(d[(4 * i)..]);
                    break;
                case "F16":
                    for (int i = 0; i < values.Length; i++) values[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(d[(2 * i)..]);
                    break;
                case "BF16":
                    for (int i = 0; i < values.Length; i++) values[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(d[(2 * i)..]) << 16);
                    break;
                case "F64":
                    for (int i = 0; i < values.Length; i++) values[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(d[(8 * i)..]);
                    break;
                default: throw new InvalidDataException($"tensor '{e.Name}' is {e.DType}; a float32 tensor takes F32, F16, BF16 or F64");
            }
            return tensor(values).reshape(e.Shape);
        }
        if (type == ScalarType.Int64)
        {
            var values = new long[e.Data.Length / ElementSize(e.DType)!.Value];
            var d = e.Data.AsSpan();
            switch (e.DType)
            {
                case "I64":
                    for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadInt64LittleEndian(d[(8 * i)..]);
                    break;
                case "I32":
                    for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadInt32LittleEndian(d[(4 * i)..]);
                    break;
                default: throw new InvalidDataException($"tensor '{e.Name}' is {e.DType}; an int64 tensor takes I64 or I32");
            }
            return tensor(values).reshape(e.Shape);
        }
        throw new ArgumentException($"tensors of {type} are not read here");
    }

    private static byte[] Bytes(Tensor t, out string dtype)
    {
        var bytes = TensorBytes.LittleEndian(t, out var type);
        dtype = type == ScalarType.Float32 ? "F32" : "I64";
        return bytes;
    }
}
