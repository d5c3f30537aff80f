using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// The layout of a method's own checkpoint state: length-prefixed byte parts (a module's weights, an optimizer's state)
/// and count-prefixed float32 tensors (MoCo's queue, DINO's centre), in a fixed order.
/// </summary>
internal static class StateParts
{
    public static byte[] Write(Action<BinaryWriter> body)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true)) body(w);
        return ms.ToArray();
    }

    public static void WritePart(BinaryWriter w, byte[] part)
    {
        w.Write(part.Length);
        w.Write(part);
    }

    public static byte[] ReadPart(BinaryReader r) => r.ReadBytes(r.ReadInt32());

    public static void WriteModule(BinaryWriter w, nn.Module module) => WritePart(w, ModuleState.Save(module));

    public static void ReadModule(BinaryReader r, nn.Module module) => ModuleState.Load(module, ReadPart(r));

    public static void WriteValues(BinaryWriter w, Tensor t)
    {
        var values = t.cpu().data<float>().ToArray();
        w.Write(values.Length);
        foreach (var v in values) w.Write(v);
    }

    /// <summary>Reads values written by <see cref="WriteValues"/> into <paramref name="t"/>; <paramref name="mismatch"/> says why a count differs.</summary>
    public static void ReadValuesInto(BinaryReader r, Tensor t, Func<int, string> mismatch)
    {
        int n = r.ReadInt32();
        if (n != t.numel()) throw new InvalidDataException(mismatch(n));
        var values = new float[n];
        for (int i = 0; i < n; i++) values[i] = r.ReadSingle();
        using var _ = no_grad();
        using var loaded = tensor(values).reshape(t.shape);
        t.copy_(loaded);
    }
}
