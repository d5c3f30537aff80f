using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// Collectives on CUDA tensors through NCCL (<c>libnccl.so.2</c>, P/Invoke): the communicator's id is made by rank 0
/// and broadcast over the MPI group; every call runs on the default stream between <c>torch.cuda.synchronize()</c>
/// calls, since TorchSharp exposes no CUDA streams. Used for gradients when the run's device is CUDA and the library
/// loads; otherwise gradients go through host memory and MPI (<see cref="DataParallel"/>). Not run on this project's CI
/// machines, which have no GPU.
/// </summary>
internal sealed unsafe class NcclCommunicator : IDisposable
{
    public const string Library = "libnccl.so.2";
    private const int NcclFloat32 = 7, NcclFloat64 = 8, NcclInt64 = 4, NcclUint8 = 1;

    private readonly nint _comm;
    private readonly delegate* unmanaged<nint, nint, nuint, int, int, nint, nint, int> _allReduce;
    private readonly delegate* unmanaged<nint, nint, nuint, int, int, nint, nint, int> _broadcast;
    private readonly delegate* unmanaged<nint, int> _destroy;
    private readonly delegate* unmanaged<int, nint> _errorString;

    private NcclCommunicator(nint lib, IProcessGroup group)
    {
        var getId = (delegate* unmanaged<NcclUniqueId*, int>)Export(lib, "ncclGetUniqueId");
        var init = (delegate* unmanaged<nint*, int, NcclUniqueId, int, int>)Export(lib, "ncclCommInitRank");
        _allReduce = (delegate* unmanaged<nint, nint, nuint, int, int, nint, nint, int>)Export(lib, "ncclAllReduce");
        _broadcast = (delegate* unmanaged<nint, nint, nuint, int, int, nint, nint, int>)Export(lib, "ncclBroadcast");
        _destroy = (delegate* unmanaged<nint, int>)Export(lib, "ncclCommDestroy");
        _errorString = (delegate* unmanaged<int, nint>)Export(lib, "ncclGetErrorString");
        var id = new NcclUniqueId();
        if (group.Rank == 0) Check(getId(&id), "ncclGetUniqueId");
        id = ShareId(group, id);
        nint comm;
        Check(init(&comm, group.WorldSize, id, group.Rank), "ncclCommInitRank");
        _comm = comm;
    }

    /// <summary>Rank 0's id on every rank (the id's bytes broadcast over <paramref name="group"/>).</summary>
    public static NcclUniqueId ShareId(IProcessGroup group, NcclUniqueId mine)
    {
        var bytes = mine.ToBytes();
        group.Broadcast<byte>(bytes, 0);
        return NcclUniqueId.FromBytes(bytes);
    }

    /// <summary>
    /// A communicator for the group's CUDA devices when NCCL can be used: more than one rank, a CUDA device, and the
    /// library present on every rank (agreed in a collective, so all ranks choose alike). Null otherwise, with the reason.
    /// </summary>
    public static NcclCommunicator? TryCreate(IProcessGroup group, Device device, out string reason, Func<bool>? libraryPresent = null)
    {
        bool here = device.type == DeviceType.CUDA && (libraryPresent ?? (() => NativeLibrary.TryLoad(Library, out _)))();
        bool all = group.WorldSize > 1 && AllAgree(group, here);
        if (group.WorldSize == 1) { reason = "one process: no communication"; return null; }
        if (device.type != DeviceType.CUDA) { reason = "CPU tensors: gradients all-reduced by MPI"; return null; }
        if (!all) { reason = $"{Library} is not loadable on every rank: gradients go through host memory and MPI"; return null; }
        reason = $"NCCL ({Library}) on cuda:{device.index}";
        return new NcclCommunicator(NativeLibrary.Load(Library), group);
    }

    private static bool AllAgree(IProcessGroup group, bool mine)
    {
        Span<int> v = [mine ? 1 : 0];
        group.AllReduce(v, ReduceOp.Min);
        return v[0] == 1;
    }

    public void AllReduce(Tensor t, ReduceOp op)
    {
        Require(t);
        int o = op switch { ReduceOp.Sum => 0, ReduceOp.Max => 2, _ => 3 };
        torch.cuda.synchronize();
        Check(_allReduce(Data(t), Data(t), (nuint)t.numel(), Type(t), o, _comm, 0), "ncclAllReduce");
        torch.cuda.synchronize();
    }

    public void Broadcast(Tensor t, int root)
    {
        Require(t);
        torch.cuda.synchronize();
        Check(_broadcast(Data(t), Data(t), (nuint)t.numel(), Type(t), root, _comm, 0), "ncclBroadcast");
        torch.cuda.synchronize();
    }

    private static void Require(Tensor t)
    {
        if (t.device.type != DeviceType.CUDA || !t.is_contiguous()) throw new ArgumentException("NCCL collectives take contiguous CUDA tensors");
    }

    private static int Type(Tensor t) => t.dtype switch
    {
        ScalarType.Float32 => NcclFloat32, ScalarType.Float64 => NcclFloat64, ScalarType.Int64 => NcclInt64, ScalarType.Byte => NcclUint8,
        _ => throw new NotSupportedException($"NCCL collectives of {t.dtype} tensors"),
    };

    [DllImport("LibTorchSharp")]
    private static extern nint THSTensor_data(nint handle);

    private static nint Data(Tensor t) => THSTensor_data(t.Handle);

    private static nint Export(nint lib, string name) => NativeLibrary.TryGetExport(lib, name, out nint p)
        ? p : throw new DistributedSetupException($"{Library} has no export {name} (NCCL 2.x is expected).");

    private void Check(int code, string call)
    {
        if (code == 0) return;
        string text = _errorString is null ? "" : Marshal.PtrToStringUTF8(_errorString(code)) ?? "";
        throw new InvalidOperationException($"{call} failed with NCCL error {code}: {text}");
    }

    public void Dispose()
    {
        if (_comm != 0) _destroy(_comm);
    }
}
