using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Contrastive.Training.Text;

/// <summary>One pre-norm transformer block: x + Attention(LN(x)) then x + MLP(LN(x)), MLP = Linear(4·width) → GELU → Linear.</summary>
internal sealed class TextBlock : Module<Tensor, Tensor, Tensor>
{
    private readonly LayerNorm norm1, norm2;
    private readonly Linear qkv, out_proj, fc, fc_proj;
    private readonly Dropout dropout;
    private readonly int _heads;

    public TextBlock(int width, int heads, double dropoutRate) : base(nameof(TextBlock))
    {
        _heads = heads;
        norm1 = LayerNorm(width);
        qkv = Linear(width, 3 * width);
        out_proj = Linear(width, width);
        norm2 = LayerNorm(width);
        fc = Linear(width, 4 * width);
        fc_proj = Linear(4 * width, width);
        dropout = Dropout(dropoutRate);
        RegisterComponents();
    }

    internal void Initialise(double attnStd, double projStd, double fcStd)
    {
        init.normal_(qkv.weight!, 0, attnStd);
        init.normal_(out_proj.weight!, 0, projStd);
        init.normal_(fc.weight!, 0, fcStd);
        init.normal_(fc_proj.weight!, 0, projStd);
        foreach (var l in new[] { qkv, out_proj, fc, fc_proj }) init.zeros_(l.bias!);
    }

    /// <param name="x">[B, L, width].</param>
    /// <param name="mask">[L, L] additive attention mask (−∞ above the diagonal).</param>
    public override Tensor forward(Tensor x, Tensor mask)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], l = x.shape[1], w = x.shape[2], d = w / _heads;
        // [B, L, 3, H, d] → three [B, H, L, d]
        var parts = qkv.forward(norm1.forward(x)).view(b, l, 3, _heads, d).permute(2, 0, 3, 1, 4);
        var (q, k, v) = (parts[0], parts[1], parts[2]);
        var attention = (q.matmul(k.transpose(-2, -1)) * (1.0 / Math.Sqrt(d)) + mask).softmax(-1);
        var mixed = attention.matmul(v).transpose(1, 2).reshape(b, l, w);
        x = x + dropout.forward(out_proj.forward(mixed));
        x = x + dropout.forward(fc_proj.forward(nn.functional.gelu(fc.forward(norm2.forward(x)))));
        return x.MoveToOuterDisposeScope();
    }
}
