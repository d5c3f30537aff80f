using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// Collectives on tensors of any device, through host arrays that a CPU tensor shares (<c>frombuffer</c>): the tensor is
/// copied into the array (for CUDA tensors: device to host), the collective runs on the array, and the result is copied
/// back. Float32, float64 and int64 tensors; without a graph (callers handle gradients, see <see cref="GlobalBatch"/>).
/// </summary>
public static class ProcessGroupTensors
{
    /// <summary>Reduces <paramref name="t"/> across ranks, in place.</summary>
    public static void AllReduceInPlace(this IProcessGroup group, Tensor t, ReduceOp op = ReduceOp.Sum)
    {
        if (group.WorldSize == 1) return;
        using var _ = no_grad();
        switch (t.dtype)
        {
            case ScalarType.Float32: Reduce<float>(group, t, op); break;
            case ScalarType.Float64: Reduce<double>(group, t, op); break;
            case ScalarType.Int64: Reduce<long>(group, t, op); break;
            default: throw new NotSupportedException($"all-reduce of {t.dtype} tensors (float32, float64 and int64 are supported)");
        }
    }

    /// <summary>Every rank's <paramref name="t"/> (same shape on every rank) concatenated along dimension 0 in rank order, on t's device.</summary>
    public static Tensor AllGather(this IProcessGroup group, Tensor t)
    {
        using var _ = no_grad();
        if (group.WorldSize == 1) return t.detach().clone();
        return t.dtype switch
        {
            ScalarType.Float32 => Gather<float>(group, t),
            ScalarType.Float64 => Gather<double>(group, t),
            ScalarType.Int64 => Gather<long>(group, t),
            _ => throw new NotSupportedException($"all-gather of {t.dtype} tensors (float32, float64 and int64 are supported)"),
        };
    }

    /// <summary>Root's <paramref name="t"/> copied into every rank's, in place.</summary>
    public static void BroadcastInPlace(this IProcessGroup group, Tensor t, int root = 0)
    {
        if (group.WorldSize == 1) return;
        using var _ = no_grad();
        switch (t.dtype)
        {
            case ScalarType.Float32: Cast<float>(group, t, root); break;
            case ScalarType.Float64: Cast<double>(group, t, root); break;
            case ScalarType.Int64: Cast<long>(group, t, root); break;
            case ScalarType.Byte: Cast<byte>(group, t, root); break;
            case ScalarType.Int32: Cast<int>(group, t, root); break;
            default: throw new NotSupportedException($"broadcast of {t.dtype} tensors");
        }
    }

    private static void Reduce<T>(IProcessGroup group, Tensor t, ReduceOp op) where T : unmanaged => InPlace<T>(t, host => group.AllReduce<T>(host, op));

    private static Tensor Gather<T>(IProcessGroup group, Tensor t) where T : unmanaged
    {
        var mine = new T[t.numel()];
        using (var view = frombuffer(mine, t.dtype)) view.copy_(t.reshape(-1));
        var all = new T[mine.LongLength * group.WorldSize];
        group.AllGather<T>(mine, all);
        var shape = t.shape.ToArray();
        shape[0] *= group.WorldSize;
        using var host = frombuffer(all, t.dtype).view(shape);
        return host.to(t.device, copy: true);
    }

    private static void Cast<T>(IProcessGroup group, Tensor t, int root) where T : unmanaged => InPlace<T>(t, host => group.Broadcast<T>(host, root));

    /// <summary>Copies <paramref name="t"/> into a host array, runs <paramref name="collective"/> on it and copies the result back.</summary>
    private static void InPlace<T>(Tensor t, Action<T[]> collective) where T : unmanaged
    {
        var host = new T[t.numel()];
        using (var view = frombuffer(host, t.dtype)) view.copy_(t.reshape(-1));
        collective(host);
        using (var view = frombuffer(host, t.dtype)) t.copy_(view.view(t.shape));
    }
}
