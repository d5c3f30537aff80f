using System.Runtime.InteropServices;

namespace Contrastive.Training;

/// <summary>NCCL's 128-byte communicator id (<c>ncclUniqueId</c>), made by rank 0 and broadcast to the others over MPI.</summary>
[StructLayout(LayoutKind.Sequential, Size = Bytes)]
internal unsafe struct NcclUniqueId
{
    public const int Bytes = 128;
    private fixed byte _internal[Bytes];

    public static NcclUniqueId FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Bytes) throw new ArgumentException($"an NCCL unique id is {Bytes} bytes, not {bytes.Length}");
        var id = new NcclUniqueId();
        bytes.CopyTo(new Span<byte>(id._internal, Bytes));
        return id;
    }

    public byte[] ToBytes()
    {
        fixed (byte* p = _internal) return new ReadOnlySpan<byte>(p, Bytes).ToArray();
    }
}
