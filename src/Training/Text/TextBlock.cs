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

    /// <summary>
    /// Adds one block to an ONNX graph after <paramref name="x"/> [N, L, width]: its tensors are <paramref name="state"/>'s
    /// under <paramref name="name"/> (<c>blocks.I.</c>), and the initializers are named <paramref name="exported"/> + that
    /// (the linear layers' weights transposed, for MatMul, with <c>_t</c> after their name).
    /// </summary>
    internal static string Onnx(OnnxGraph g, string x, string mask, long l, long width, long heads, IReadOnlyDictionary<string, Tensor> state, string name, string exported)
    {
        long d = width / heads;
        string weight(string n) => g.Weight(exported + name + n, state[name + n]);
        string Norm(string v, string n) => g.Node("LayerNormalization", [v, weight(n + ".weight"), weight(n + ".bias")], [OnnxGraph.Attr("axis", -1L), OnnxGraph.Attr("epsilon", 1e-5f)]);
        string Dense(string v, string n)
        {
            using var t = state[name + n + ".weight"].t().contiguous();
            return g.Add(g.Node("MatMul", [v, g.Weight(exported + name + n + ".weight_t", t)]), weight(n + ".bias"));
        }
        var parts = g.Node("Transpose", [g.Node("Reshape", [Dense(Norm(x, "norm1"), "qkv"), g.Ints([0, l, 3, heads, d], 5)])], [OnnxGraph.Attr("perm", 2L, 0L, 3L, 1L, 4L)]);
        string Take(long i) => g.Node("Gather", [parts, g.Ints([i])], [OnnxGraph.Attr("axis", 0L)]);
        string q = Take(0), k = Take(1), v = Take(2);
        var scores = g.Node("Mul", [g.Node("MatMul", [q, g.Node("Transpose", [k], [OnnxGraph.Attr("perm", 0L, 1L, 3L, 2L)])]), g.Constant([(float)(1.0 / Math.Sqrt(d))])]);
        var attention = g.Node("Softmax", [g.Add(scores, mask)], [OnnxGraph.Attr("axis", -1L)]);
        var mixed = g.Node("Reshape", [g.Node("Transpose", [g.Node("MatMul", [attention, v])], [OnnxGraph.Attr("perm", 0L, 2L, 1L, 3L)]), g.Ints([0, l, width], 3)]);
        x = g.Add(x, Dense(mixed, "out_proj"));
        // GELU, exactly: x · ½ · (1 + erf(x / √2)) (opset 17 has no Gelu).
        var h = Dense(Norm(x, "norm2"), "fc");
        var erf = g.Node("Erf", [g.Node("Div", [h, g.Constant([MathF.Sqrt(2f)])])]);
        var gelu = g.Node("Mul", [g.Node("Mul", [h, g.Node("Add", [erf, g.Constant([1f])])]), g.Constant([0.5f])]);
        return g.Add(x, Dense(gelu, "fc_proj"));
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
