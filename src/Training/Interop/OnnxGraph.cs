using System.Buffers.Binary;
using System.Text;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// An ONNX model built node by node and written as the ONNX protobuf (<c>onnx.proto</c>'s ModelProto: IR version 8,
/// the default domain at opset 17) by a small writer of the wire format, without generated code. Modules add their own
/// layers (<see cref="ResNet"/>, <see cref="SmallConvNet"/>, the heads, the text tower) with the weights as
/// initializers named as in the safetensors export; values get names <c>t0</c>, <c>t1</c>, ….
/// </summary>
internal sealed class OnnxGraph
{
    public const int Opset = 17;
    public const long IrVersion = 8;

    /// <summary>ONNX TensorProto.DataType values.</summary>
    public const int Float = 1, UInt8 = 2, Int64 = 7;

    private readonly List<byte[]> _nodes = [];
    private readonly List<byte[]> _initializers = [];
    private readonly List<byte[]> _inputs = [];
    private readonly List<byte[]> _outputs = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private int _next;

    /// <summary>A graph input: <paramref name="dims"/> of null are dynamic, named by <paramref name="dynamicName"/> (the batch).</summary>
    public string Input(string name, int elemType, long?[] dims, string dynamicName = "batch")
    {
        _inputs.Add(ValueInfo(name, elemType, dims, dynamicName));
        return name;
    }

    /// <summary>Declares the graph output <paramref name="name"/>, made by a node whose output was given that name (<paramref name="value"/>, the same).</summary>
    public void Output(string value, string name, int elemType, long?[] dims, string dynamicName = "batch")
    {
        if (value != name) throw new ArgumentException("outputs are named where they are made (the node's output name)");
        _outputs.Add(ValueInfo(name, elemType, dims, dynamicName));
    }

    /// <summary>A float32 or int64 initializer holding <paramref name="value"/>'s values (copied now).</summary>
    public string Weight(string name, Tensor value)
    {
        if (!_names.Add(name)) throw new ArgumentException($"initializer '{name}' is added twice");
        return Initializer(name, value);
    }

    private string Initializer(string name, Tensor value)
    {
        byte[] raw = TensorBytes.LittleEndian(value, out var dtype);
        int type = dtype == ScalarType.Float32 ? Float : Int64;
        _initializers.Add(TensorProto(name, type, value.shape, raw));
        return name;
    }

    /// <summary>A float32 constant of the given shape (a new name).</summary>
    public string Constant(float[] values, params long[] shape)
    {
        using var t = tensor(values).reshape(shape);
        return Initializer(Fresh(), t);
    }

    /// <summary>An int64 constant of the given shape (a new name); a scalar when <paramref name="shape"/> is empty.</summary>
    public string Ints(long[] values, params long[] shape)
    {
        using var t = tensor(values).reshape(shape);
        return Initializer(Fresh(), t);
    }

    /// <summary>A node of <paramref name="op"/> with one output (a new name, or <paramref name="output"/>).</summary>
    public string Node(string op, string[] inputs, IEnumerable<byte[]>? attributes = null, string? output = null)
    {
        output ??= Fresh();
        var w = new ProtoWriter();
        foreach (var i in inputs) w.String(1, i);
        w.String(2, output);
        w.String(3, $"{op}_{_nodes.Count}");
        w.String(4, op);
        foreach (var a in attributes ?? []) w.Bytes(5, a);
        _nodes.Add(w.ToArray());
        return output;
    }

    // Attributes (AttributeProto: name 1, f 2, i 3, t 5, ints 8, type 20).
    public static byte[] Attr(string name, long value) => new ProtoWriter().String(1, name).Varint(3, value).Varint(20, 2).ToArray();

    public static byte[] Attr(string name, float value) => new ProtoWriter().String(1, name).Fixed32(2, value).Varint(20, 1).ToArray();

    public static byte[] Attr(string name, params long[] values)
    {
        var w = new ProtoWriter().String(1, name);
        foreach (var v in values) w.Varint(8, v);
        return w.Varint(20, 7).ToArray();
    }

    // The layers the modules are made of.
    public string Conv(string x, string weight, string? bias, int kernel, int stride, int pad) =>
        Node("Conv", bias is null ? [x, weight] : [x, weight, bias],
            [Attr("kernel_shape", kernel, kernel), Attr("strides", stride, stride), Attr("pads", pad, pad, pad, pad), Attr("dilations", 1L, 1L), Attr("group", 1L)]);

    public string BatchNorm(string x, string scale, string bias, string mean, string variance, float epsilon = 1e-5f) =>
        Node("BatchNormalization", [x, scale, bias, mean, variance], [Attr("epsilon", epsilon)]);

    public string Relu(string x) => Node("Relu", [x]);

    public string MaxPool(string x, int kernel, int stride, int pad) =>
        Node("MaxPool", [x], [Attr("kernel_shape", kernel, kernel), Attr("strides", stride, stride), Attr("pads", pad, pad, pad, pad)]);

    public string Add(string a, string b, string? output = null) => Node("Add", [a, b], output: output);

    /// <summary>x · Wᵀ + b for [N, in] rows (Gemm, transB).</summary>
    public string Linear(string x, string weight, string? bias, string? output = null) =>
        Node("Gemm", bias is null ? [x, weight] : [x, weight, bias], [Attr("transB", 1L)], output);

    public string Flatten(string x, string? output = null) => Node("Flatten", [x], [Attr("axis", 1L)], output);

    /// <summary>The model's bytes (ModelProto).</summary>
    public byte[] ToModel(string graphName, IReadOnlyDictionary<string, string> metadata, string producerVersion)
    {
        var g = new ProtoWriter();
        foreach (var n in _nodes) g.Bytes(1, n);
        g.String(2, graphName);
        foreach (var t in _initializers) g.Bytes(5, t);
        foreach (var i in _inputs) g.Bytes(11, i);
        foreach (var o in _outputs) g.Bytes(12, o);
        var m = new ProtoWriter();
        m.Varint(1, IrVersion);
        m.String(2, "contrastive");
        m.String(3, producerVersion);
        m.Bytes(7, g.ToArray());
        m.Bytes(8, new ProtoWriter().String(1, "").Varint(2, Opset).ToArray());
        foreach (var (k, v) in metadata) m.Bytes(14, new ProtoWriter().String(1, k).String(2, v).ToArray());
        return m.ToArray();
    }

    private string Fresh()
    {
        string name;
        do name = $"t{_next++}"; while (!_names.Add(name));
        return name;
    }

    private static byte[] TensorProto(string name, int type, long[] dims, byte[] raw)
    {
        var w = new ProtoWriter();
        foreach (var d in dims) w.Varint(1, d);
        w.Varint(2, type);
        w.String(8, name);
        w.Bytes(9, raw);
        return w.ToArray();
    }

    private static byte[] ValueInfo(string name, int elemType, long?[] dims, string dynamicName)
    {
        var shape = new ProtoWriter();
        foreach (var d in dims)
            shape.Bytes(1, d is { } v ? new ProtoWriter().Varint(1, v).ToArray() : new ProtoWriter().String(2, dynamicName).ToArray());
        var tensorType = new ProtoWriter().Varint(1, elemType).Bytes(2, shape.ToArray()).ToArray();
        var type = new ProtoWriter().Bytes(1, tensorType).ToArray();
        return new ProtoWriter().String(1, name).Bytes(2, type).ToArray();
    }

    /// <summary>The protobuf wire format: varints (type 0), fixed 32-bit (type 5) and length-delimited fields (type 2).</summary>
    private sealed class ProtoWriter
    {
        private readonly MemoryStream _out = new();

        public ProtoWriter Varint(int field, long value)
        {
            Raw(((ulong)field << 3) | 0);
            Raw((ulong)value);
            return this;
        }

        public ProtoWriter Fixed32(int field, float value)
        {
            Raw(((ulong)field << 3) | 5);
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteSingleLittleEndian(b, value);
            _out.Write(b);
            return this;
        }

        public ProtoWriter Bytes(int field, ReadOnlySpan<byte> value)
        {
            Raw(((ulong)field << 3) | 2);
            Raw((ulong)value.Length);
            _out.Write(value);
            return this;
        }

        public ProtoWriter String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        public byte[] ToArray() => _out.ToArray();

        private void Raw(ulong v)
        {
            while (v >= 0x80)
            {
                _out.WriteByte((byte)(v | 0x80));
                v >>= 7;
            }
            _out.WriteByte((byte)v);
        }
    }
}
