using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// Synchronised BatchNorm (as SimCLR trained with): inside <see cref="Enter"/>, every BatchNorm layer that a
/// <see cref="Chain"/> runs in training mode normalises with the statistics of the global batch — per-channel sums,
/// sums of squares and counts all-reduced in the forward pass — and its backward all-reduces the two per-channel sums
/// the input gradient needs, so the gradient is that of the global batch's loss. Running statistics follow the global
/// batch (unbiased variance). Off (the default), each rank normalises with its own batch. The setting is per thread,
/// like TorchSharp's dispose scopes; every rank must run the same layers (all collectives).
/// </summary>
public static class SyncBatchNorm
{
    [ThreadStatic] private static IProcessGroup? _group;

    /// <summary>The group BatchNorm layers synchronise over on this thread, or null.</summary>
    public static IProcessGroup? Group => _group;

    /// <summary>Synchronises BatchNorm over <paramref name="group"/> until disposed (a group of one changes nothing).</summary>
    public static IDisposable Enter(IProcessGroup group)
    {
        var previous = _group;
        _group = group.WorldSize > 1 ? group : null;
        return new ScopeRestore(() => _group = previous);
    }

    /// <summary>Whether <paramref name="layer"/> is a BatchNorm layer this thread synchronises now.</summary>
    internal static bool Applies(nn.Module layer) => _group is not null && layer.training && layer is BatchNorm1d or BatchNorm2d;

    /// <summary>The layer's forward with global statistics.</summary>
    internal static Tensor Forward(nn.Module layer, Tensor x)
    {
        var (weight, bias, mean, variance, eps, momentum) = layer switch
        {
            BatchNorm1d b => (b.weight, b.bias, b.running_mean, b.running_var, b.eps, b.momentum),
            BatchNorm2d b => (b.weight, b.bias, b.running_mean, b.running_var, b.eps, b.momentum),
            _ => throw new ArgumentException($"not a BatchNorm layer: {layer.GetType().Name}"),
        };
        return Function.apply(x, weight, bias, mean, variance, _group!, eps, momentum ?? 0.1);
    }

    private static long[] ReduceDims(Tensor x) => [0, .. Enumerable.Range(2, (int)x.dim() - 2).Select(d => (long)d)];

    private static long[] ChannelShape(Tensor x) => [1, x.shape[1], .. Enumerable.Repeat(1L, (int)x.dim() - 2)];

    private sealed class Function : autograd.SingleTensorFunction<Function>
    {
        public override string Name => "SyncBatchNorm";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var x = (Tensor)vars[0];
            var weight = vars[1] as Tensor;
            var bias = vars[2] as Tensor;
            var runningMean = vars[3] as Tensor;
            var runningVar = vars[4] as Tensor;
            var group = (IProcessGroup)vars[5];
            double eps = (double)vars[6], momentum = (double)vars[7];
            using var scope = NewDisposeScope();
            var dims = ReduceDims(x);
            var shape = ChannelShape(x);
            long channels = x.shape[1];
            // Per-channel sums and sums of squares, and the element count, over every rank (in float64 for the variance).
            var x64 = x.to_type(ScalarType.Float64);
            var stats = cat([x64.sum(dims), (x64 * x64).sum(dims), full(1, (double)(x.numel() / channels), ScalarType.Float64, x.device)]);
            group.AllReduceInPlace(stats, ReduceOp.Sum);
            double count = stats[2 * channels].ToDouble();
            var mean = stats.narrow(0, 0, channels) / count;
            var variance = (stats.narrow(0, channels, channels) / count - mean * mean).clamp_min(0);
            var invstd = (variance + eps).rsqrt();
            if (runningMean is not null && runningVar is not null)
            {
                runningMean.mul_(1 - momentum).add_(mean.to_type(runningMean.dtype), alpha: momentum);
                runningVar.mul_(1 - momentum).add_((variance * (count / Math.Max(1, count - 1))).to_type(runningVar.dtype), alpha: momentum);
            }
            var xhat = (x - mean.to_type(x.dtype).view(shape)) * invstd.to_type(x.dtype).view(shape);
            var y = xhat;
            if (weight is not null) y = y * weight.view(shape);
            if (bias is not null) y = y + bias.view(shape);
            // What backward needs outlives this scope (autograd saves it after forward returns).
            var saved = new List<Tensor> { xhat.detach(), (weight ?? ones(channels, dtype: x.dtype, device: x.device)).detach(), invstd.to_type(x.dtype).detach() };
            foreach (var t in saved) t.MoveToOuterDisposeScope();
            ctx.save_for_backward(saved);
            ctx.save_data("group", group);
            ctx.save_data("count", count);
            ctx.save_data("affine", weight is not null);
            return y.MoveToOuterDisposeScope();
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad)
        {
            var saved = ctx.get_saved_variables();
            var (xhat, weight, invstd) = (saved[0], saved[1], saved[2]);
            var group = (IProcessGroup)ctx.get_data("group");
            double count = (double)ctx.get_data("count");
            bool affine = (bool)ctx.get_data("affine");
            var dims = ReduceDims(grad);
            var shape = ChannelShape(grad);
            long channels = grad.shape[1];
            var sumDy = grad.sum(dims);
            var sumDyXhat = (grad * xhat).sum(dims);
            // The input gradient needs the sums over the global batch; the affine parameters' gradients stay local
            // (the trainer's gradient averaging adds them up across ranks).
            var global = cat([sumDy, sumDyXhat]).to_type(ScalarType.Float64);
            group.AllReduceInPlace(global, ReduceOp.Sum);
            var meanDy = (global.narrow(0, 0, channels) / count).to_type(grad.dtype).view(shape);
            var meanDyXhat = (global.narrow(0, channels, channels) / count).to_type(grad.dtype).view(shape);
            var dx = (weight * invstd).view(shape) * (grad - meanDy - xhat * meanDyXhat);
            return [dx, affine ? sumDyXhat : null!, affine ? sumDy : null!, null!, null!, null!, null!, null!];
        }
    }
}
