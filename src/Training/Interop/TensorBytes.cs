using System.Buffers.Binary;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>A float32 or int64 tensor's values as little-endian bytes, row-major: what safetensors and ONNX initializers hold.</summary>
internal static class TensorBytes
{
    /// <exception cref="ArgumentException">Another element type.</exception>
    public static byte[] LittleEndian(Tensor t, out ScalarType type)
    {
        using var c = t.detach().cpu().contiguous();
        type = c.dtype;
        if (type == ScalarType.Float32)
        {
            var values = c.data<float>().ToArray();
            var bytes = new byte[values.Length * 4];
            for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), values[i]);
            return bytes;
        }
        if (type == ScalarType.Int64)
        {
            var values = c.data<long>().ToArray();
            var bytes = new byte[values.Length * 8];
            for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8 * i), values[i]);
            return bytes;
        }
        throw new ArgumentException($"tensors of {type} are not written here (float32 and int64)");
    }
}
