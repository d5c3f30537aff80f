using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// Data-parallel bookkeeping for one model: its parameters and buffers broadcast from rank 0 (at the start and after a
/// resume), and after each backward its gradients all-reduced in one flattened buffer and averaged, so every rank takes
/// the same optimizer step. The step's loss rides in the same buffer (its mean over ranks comes back). CPU tensors are
/// copied into a host array a CPU tensor shares; CUDA gradients go to that host array and back (correct everywhere), or
/// through NCCL on the device when <see cref="Nccl"/> is set.
/// </summary>
internal sealed class DataParallel : IDisposable
{
    private readonly IProcessGroup _group;
    private readonly Parameter[] _parameters;
    private readonly long _count;
    private readonly ScalarType _dtype;
    private float[]? _hostFloat;
    private double[]? _hostDouble;
    private Tensor? _flat;      // shares the host array (or lives on the device with NCCL), [count + 1]

    public DataParallel(IProcessGroup group, IReadOnlyList<Parameter> parameters, NcclCommunicator? nccl = null)
    {
        _group = group;
        _parameters = [.. parameters];
        _count = _parameters.Sum(p => p.numel());
        var types = _parameters.Select(p => p.dtype).Distinct().ToArray();
        if (types.Length > 1) throw new ArgumentException($"data-parallel parameters must share one type, not {string.Join(", ", types)}");
        _dtype = types.Length == 1 ? types[0] : ScalarType.Float32;
        if (_dtype is not (ScalarType.Float32 or ScalarType.Float64)) throw new ArgumentException($"data-parallel parameters are float32 or float64, not {_dtype}");
        Nccl = nccl;
    }

    /// <summary>The NCCL communicator gradients of CUDA parameters go through, when one was made (else host memory and MPI).</summary>
    public NcclCommunicator? Nccl { get; }

    /// <summary>
    /// Copies rank 0's values of every parameter and buffer of <paramref name="modules"/>, and of the trained parameters
    /// outside them (a head the method keeps beside its model), into every rank's.
    /// </summary>
    public void Broadcast(params nn.Module[] modules)
    {
        if (_group.WorldSize == 1) return;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var inModules = modules.SelectMany(m => m.parameters()).Select(p => p.Handle).ToHashSet();
        foreach (var t in modules.SelectMany(m => m.state_dict().Values).Concat(_parameters.Where(p => !inModules.Contains(p.Handle))))
            if (Nccl is not null && t.device.type == DeviceType.CUDA) Nccl.Broadcast(t, 0);
            else _group.BroadcastInPlace(t, 0);
    }

    /// <summary>
    /// Sums every rank's gradients, divides by the world size and writes the mean back into each parameter's gradient
    /// (a parameter without a gradient counts as zeros and gets the mean). Returns the mean of <paramref name="loss"/> over ranks.
    /// </summary>
    public double AverageGradients(double loss)
    {
        if (_group.WorldSize == 1) return loss;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var flat = Flat();
        long offset = 0;
        foreach (var p in _parameters)
        {
            long n = p.numel();
            var slot = flat.narrow(0, offset, n);
            if (p.grad is { } g) slot.copy_(g.reshape(-1));
            else slot.zero_();
            offset += n;
        }
        flat.narrow(0, _count, 1).fill_(loss);
        if (Nccl is not null) Nccl.AllReduce(flat, ReduceOp.Sum);
        else if (_dtype == ScalarType.Float32) _group.AllReduce<float>(_hostFloat);
        else _group.AllReduce<double>(_hostDouble);
        flat.div_(_group.WorldSize);
        offset = 0;
        foreach (var p in _parameters)
        {
            long n = p.numel();
            var mean = flat.narrow(0, offset, n).view(p.shape);
            if (p.grad is { } g) g.copy_(mean);
            else p.grad = mean.to(p.device, copy: true).DetachFromDisposeScope();
            offset += n;
        }
        return flat[_count].ToDouble();
    }

    private Tensor Flat()
    {
        if (_flat is not null) return _flat;
        var device = _parameters.Length > 0 ? _parameters[0].device : CPU;
        if (Nccl is not null && device.type == DeviceType.CUDA)
            _flat = zeros(_count + 1, dtype: _dtype, device: device).DetachFromDisposeScope();
        else if (_dtype == ScalarType.Float32)
            _flat = frombuffer(_hostFloat = GC.AllocateArray<float>((int)checked(_count + 1), pinned: true), _dtype).DetachFromDisposeScope();
        else
            _flat = frombuffer(_hostDouble = GC.AllocateArray<double>((int)checked(_count + 1), pinned: true), _dtype).DetachFromDisposeScope();
        return _flat;
    }

    public void Dispose()
    {
        _flat?.Dispose();
        _flat = null;
    }
}
