using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// Mixed precision by explicit casts (TorchSharp has no autocast). Inside <see cref="Enter"/> with bf16, the layers of a
/// <see cref="Chain"/> compute as PyTorch's autocast would have them where that is safe: convolutions and linear layers
/// take their input and a bf16 copy of their fp32 weights (the cast is part of the graph, so the gradients reach the
/// fp32 parameters: the optimizer, its state and the checkpoints stay fp32); normalisation layers take their input in
/// fp32 (statistics and running averages in fp32); everything a chain returns is fp32, so heads, losses, softmax and
/// normalised embeddings are computed in fp32. The setting is per thread, as TorchSharp's dispose scopes are.
/// </summary>
public static class Autocast
{
    [ThreadStatic] private static ScalarType? _compute;

    /// <summary>The reduced type layers compute in on this thread, or null (fp32 throughout).</summary>
    public static ScalarType? Compute => _compute;

    /// <summary>Computes in <paramref name="type"/> (bf16 or fp16; null: fp32) until the returned scope is disposed.</summary>
    public static IDisposable Enter(ScalarType? type)
    {
        if (type is { } t && t is not (ScalarType.BFloat16 or ScalarType.Float16))
            throw new ArgumentException($"Autocast computes in bf16 or fp16, not {t}.", nameof(type));
        var previous = _compute;
        _compute = type;
        return new ScopeRestore(() => _compute = previous);
    }

    /// <summary>One layer's forward under the current setting.</summary>
    public static Tensor Forward(nn.Module<Tensor, Tensor> layer, Tensor x)
    {
        if (SyncBatchNorm.Applies(layer))
            return x.dtype == ScalarType.Float32 || !x.is_floating_point() ? SyncBatchNorm.Forward(layer, x) : SyncForwardFloat(layer, x);
        if (_compute is not { } t) return layer.forward(x);
        switch (layer)
        {
            case Conv2d c:
                if (c.padding_mode != PaddingModes.Zeros || c.padding_type is not null)
                    throw new NotSupportedException("Autocast handles zero-padded convolutions with explicit padding only.");
                using (var scope = NewDisposeScope())
                {
                    var y = nn.functional.conv2d(Cast(x, t), Cast(c.weight, t), c.bias is null ? null : Cast(c.bias, t),
                        strides: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups);
                    return y.MoveToOuterDisposeScope();
                }
            case Linear l:
                using (var scope = NewDisposeScope())
                {
                    var y = nn.functional.linear(Cast(x, t), Cast(l.weight, t), l.bias is null ? null : Cast(l.bias, t));
                    return y.MoveToOuterDisposeScope();
                }
            case BatchNorm1d or BatchNorm2d or LayerNorm or GroupNorm:
                return x.dtype == ScalarType.Float32 ? layer.forward(x) : ForwardFloat(layer, x);
            default:
                return layer.forward(x);
        }
    }

    /// <summary>A chain's result: fp32 whatever its last layer computed in.</summary>
    public static Tensor Output(Tensor x) => x.is_floating_point() && x.dtype != ScalarType.Float32 ? x.to_type(ScalarType.Float32) : x;

    private static Tensor ForwardFloat(nn.Module<Tensor, Tensor> layer, Tensor x)
    {
        using var f = x.to_type(ScalarType.Float32);
        return layer.forward(f);
    }

    private static Tensor SyncForwardFloat(nn.Module<Tensor, Tensor> layer, Tensor x)
    {
        if (x.dtype == ScalarType.Float64) return SyncBatchNorm.Forward(layer, x);
        using var f = x.to_type(ScalarType.Float32);
        return SyncBatchNorm.Forward(layer, f);
    }

    private static Tensor Cast(Tensor x, ScalarType t) => x.dtype == t ? x.alias() : x.to_type(t);
}
