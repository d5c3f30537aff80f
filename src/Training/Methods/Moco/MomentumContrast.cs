using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// MoCo v2 (He et al. 2020; Chen et al. 2020): a key network that follows the query network by momentum
/// (θk ← m·θk + (1 − m)·θq, after every step), a queue of the last <see cref="QueueSize"/> keys as negatives, and
/// InfoNCE over [q·k⁺, q·queue] / T. Single-device "shuffled BN": the query is encoded in two halves in batch order and
/// the key in two halves of a random permutation, so no sample's key shares batch statistics with its query's half.
/// </summary>
internal sealed class MomentumContrast : IDisposable
{
    private readonly Tensor _queue;   // [K, D], unit rows
    private long _pointer;
    private readonly Generator _shuffle;

    public MomentumContrast(nn.Module<Tensor, Tensor> query, Func<nn.Module<Tensor, Tensor>> create, int queueSize, double momentum, double temperature, int dim, long seed, Device device)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(queueSize, 1);
        if (momentum is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(momentum), "momentum must be in [0, 1)");
        QueueSize = queueSize;
        Momentum = momentum;
        Temperature = temperature > 0 ? temperature : throw new ArgumentOutOfRangeException(nameof(temperature));
        Key = create();
        ModuleState.Copy(query, Key);
        Key.to(device);
        foreach (var p in Key.parameters()) p.requires_grad = false;
        using (no_grad())
            _queue = nn.functional.normalize(randn(new long[] { queueSize, dim }, generator: new Generator((ulong)seed + 7)), dim: 1)
                .to(query.parameters().FirstOrDefault()?.dtype ?? ScalarType.Float32).to(device).DetachFromDisposeScope();
        _shuffle = new Generator((ulong)seed + 11);
    }

    public nn.Module<Tensor, Tensor> Key { get; }

    public int QueueSize { get; }

    public double Momentum { get; }

    public double Temperature { get; }

    /// <summary>The negatives, [K, D] (for tests).</summary>
    public Tensor Queue => _queue;

    /// <summary>The loss for views 1 (queries) and 2 (keys) of <paramref name="n"/> samples in <paramref name="x"/> [2n, 3, S, S]; the keys are returned for <see cref="Enqueue"/>.</summary>
    public Tensor Loss(nn.Module<Tensor, Tensor> query, Tensor x, int n, out Tensor keys)
    {
        using var scope = NewDisposeScope();
        var xq = x.narrow(0, 0, n);
        var xk = x.narrow(0, n, n);
        int half = Math.Max(1, n / 2);
        var q = nn.functional.normalize(cat([query.forward(xq.narrow(0, 0, half)), .. n > half ? [query.forward(xq.narrow(0, half, n - half))] : Array.Empty<Tensor>()], 0), dim: 1);
        Tensor k;
        using (no_grad())
        {
            Key.train();
            var perm = randperm(n, generator: _shuffle).to(x.device);
            var shuffled = xk.index_select(0, perm);
            var ks = cat([Key.forward(shuffled.narrow(0, 0, half)), .. n > half ? [Key.forward(shuffled.narrow(0, half, n - half))] : Array.Empty<Tensor>()], 0);
            k = nn.functional.normalize(empty_like(ks).index_copy_(0, perm, ks), dim: 1); // back to batch order
        }
        var positive = (q * k).sum(1, keepdim: true);
        var negative = q.matmul(_queue.t());
        var logits = cat([positive, negative], 1).div(Temperature);
        var target = zeros(n, dtype: ScalarType.Int64, device: x.device);
        keys = k.MoveToOuterDisposeScope();
        return nn.functional.cross_entropy(logits, target).MoveToOuterDisposeScope();
    }

    /// <summary>After the optimizer step: the key network moves toward the query network.</summary>
    public void UpdateKey(nn.Module<Tensor, Tensor> query)
    {
        MovingAverage.Update(Key.parameters(), query.parameters(), Momentum);
    }

    /// <summary>Writes <paramref name="keys"/> [n, D] over the oldest entries of the queue (wrapping around).</summary>
    public void Enqueue(Tensor keys)
    {
        using var _ = no_grad();
        long n = Math.Min(keys.shape[0], QueueSize);
        for (long i = 0; i < n; i++) _queue[(_pointer + i) % QueueSize].copy_(keys[i]);
        _pointer = (_pointer + n) % QueueSize;
    }

    public byte[] SaveState() => StateParts.Write(w =>
    {
        StateParts.WriteModule(w, Key);
        w.Write(_pointer);
        StateParts.WriteValues(w, _queue);
    });

    public void LoadState(byte[] state)
    {
        using var ms = new MemoryStream(state);
        using var r = new BinaryReader(ms);
        StateParts.ReadModule(r, Key);
        _pointer = r.ReadInt64();
        StateParts.ReadValuesInto(r, _queue, n => $"the checkpoint's MoCo queue has {n} values; this run's has {_queue.numel()} (another Moco:Queue?)");
    }

    public void Dispose()
    {
        Key.Dispose();
        _queue.Dispose();
        _shuffle.Dispose();
    }
}
