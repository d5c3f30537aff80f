using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Contrastive.Training;

/// <summary>
/// DINO's head (Caron et al. 2021): a 3-layer MLP (GELU) to a bottleneck, L2-normalised, then a weight-normalised linear
/// layer without bias to K prototypes. The last layer's norm is fixed at 1 (the paper's norm_last_layer): logits are the
/// cosine similarities of the bottleneck feature and each prototype direction.
/// </summary>
public sealed class DinoHead : Module<Tensor, Tensor>
{
    private readonly Chain _mlp;
    private readonly Parameter _prototypes; // [K, bottleneck], directions only

    public DinoHead(int inputDim, int hiddenDim, int bottleneckDim, int outputDim) : base(nameof(DinoHead))
    {
        _mlp = new Chain(Linear(inputDim, hiddenDim), GELU(), Linear(hiddenDim, hiddenDim), GELU(), Linear(hiddenDim, bottleneckDim));
        foreach (var m in _mlp.modules().OfType<Linear>())
        {
            TruncatedNormal(m.weight, 0.02);
            if (m.bias is not null) init.zeros_(m.bias);
        }
        _prototypes = Parameter(empty(outputDim, bottleneckDim));
        TruncatedNormal(_prototypes, 0.02);
        OutputDim = outputDim;
        RegisterComponents();
    }

    public int OutputDim { get; }

    /// <summary>
    /// Fills <paramref name="t"/> from N(0, σ²) truncated to ±2σ (redrawing values outside). Our own because TorchSharp
    /// 0.107's init.trunc_normal_ fills the tensor with the constant σ.
    /// </summary>
    public static void TruncatedNormal(Tensor t, double std)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        t.normal_(0, std);
        for (int round = 0; round < 100; round++)
        {
            var outside = t.abs().gt(2 * std);
            if (!outside.any().item<bool>()) return;
            t.copy_(where(outside, empty_like(t).normal_(0, std), t));
        }
        t.clamp_(-2 * std, 2 * std);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var z = functional.normalize(_mlp.forward(x), p: 2, dim: -1);
        var w = functional.normalize(_prototypes, p: 2, dim: 1);
        return z.matmul(w.t()).MoveToOuterDisposeScope();
    }
}
