using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Contrastive.Training.Text;

/// <summary>
/// CLIP's text tower (Radford et al. 2021, section 2.4): token and learned position embeddings, pre-norm transformer
/// blocks with a causal mask, a final LayerNorm, and the feature at each caption's end token projected to the joint
/// embedding. Token rows are those of <see cref="CaptionTokenizer"/>: <c>[start] tokens… [end] pad…</c>, with the end
/// token at length − 1. Because the mask is causal, the end token's feature never sees the padding after it, so each
/// batch is computed only up to its longest caption (an exact saving: CLIP's 77-token context holds short captions).
/// Initialisation as CLIP's code: token embeddings N(0, 0.02), positions N(0, 0.01), attention N(0, width^-0.5), the
/// blocks' output projections N(0, width^-0.5·(2·layers)^-0.5), MLP input N(0, (2·width)^-0.5), the text projection
/// N(0, width^-0.5). Optional dropout on the embeddings and each residual branch (SimCSE's only augmentation; CLIP: 0).
/// Computes in fp32 (under bf16 precision only the image tower's layers are cast).
/// </summary>
public sealed class TextTransformer : Module<Tensor, Tensor, Tensor>
{
    private readonly Embedding token;
    private readonly Parameter position;
    private readonly ModuleList<TextBlock> blocks;
    private readonly LayerNorm final_norm;
    private readonly Parameter projection;
    private readonly Dropout dropout;

    /// <param name="vocabulary">Token ids (<see cref="CaptionTokenizer.VocabularySize"/>).</param>
    /// <param name="context">Token rows' length (the position table's size).</param>
    /// <param name="width">Feature width of the blocks.</param>
    /// <param name="layers">Transformer blocks.</param>
    /// <param name="heads">Attention heads (must divide <paramref name="width"/>).</param>
    /// <param name="embedDim">Size of the projected end-token feature.</param>
    /// <param name="dropoutRate">Dropout on the embeddings and residual branches (0: none).</param>
    public TextTransformer(int vocabulary, int context, int width, int layers, int heads, int embedDim, double dropoutRate = 0) : base(nameof(TextTransformer))
    {
        if (width % heads != 0) throw new ArgumentException($"the text width ({width}) must be a multiple of the heads ({heads})");
        Context = context;
        Width = width;
        Layers = layers;
        Heads = heads;
        EmbedDim = embedDim;
        token = Embedding(vocabulary, width);
        position = new Parameter(empty(context, width));
        blocks = new ModuleList<TextBlock>(Enumerable.Range(0, layers).Select(_ => new TextBlock(width, heads, dropoutRate)).ToArray());
        final_norm = LayerNorm(width);
        projection = new Parameter(empty(width, embedDim));
        dropout = Dropout(dropoutRate);
        RegisterComponents();
        using var _ = no_grad();
        init.normal_(token.weight!, 0, 0.02);
        init.normal_(position, 0, 0.01);
        double attnStd = Math.Pow(width, -0.5), projStd = attnStd * Math.Pow(2.0 * layers, -0.5), fcStd = Math.Pow(2.0 * width, -0.5);
        foreach (var b in blocks) b.Initialise(attnStd, projStd, fcStd);
        init.normal_(projection, 0, attnStd);
    }

    /// <summary>Token rows' length.</summary>
    public int Context { get; }

    public int Width { get; }

    /// <summary>Transformer blocks.</summary>
    public int Layers { get; }

    /// <summary>Attention heads per block.</summary>
    public int Heads { get; }

    /// <summary>Size of the output (the joint embedding).</summary>
    public int EmbedDim { get; }

    /// <summary>The L2-normalised embeddings of token rows, on the CPU, without a graph and without dropout (evaluation, zero-shot, embed).</summary>
    public Tensor EmbedNormalised(Tensor tokens, Tensor lengths)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        eval();
        var device = projection.device;
        return nn.functional.normalize(forward(tokens.to(device), lengths.to(device)), p: 2, dim: 1).cpu().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Adds the tower to an ONNX graph: <paramref name="tokens"/> int64 [N, Context] and <paramref name="lengths"/> int64 [N]
    /// in, the projected end-token features [N, EmbedDim] out as <paramref name="output"/>; weights named
    /// <paramref name="prefix"/> + this module's state names. The graph runs over the whole context (the causal mask keeps
    /// the end token's feature from the padding after it, as in <see cref="forward"/>, which stops at the longest caption).
    /// </summary>
    internal string Onnx(OnnxGraph g, string tokens, string lengths, string prefix, string output)
    {
        var state = state_dict();
        string W(string name) => g.Weight(prefix + name, state[name]);
        var x = g.Add(g.Node("Gather", [W("token.weight"), tokens], [OnnxGraph.Attr("axis", 0L)]), W("position"));
        var mask = new float[Context * Context];
        for (int i = 0; i < Context; i++)
            for (int j = i + 1; j < Context; j++) mask[i * Context + j] = float.NegativeInfinity;
        string maskName = g.Constant(mask, Context, Context);
        for (int i = 0; i < Layers; i++) x = TextBlock.Onnx(g, x, maskName, Context, Width, Heads, state, $"blocks.{i}.", prefix);
        x = g.Node("LayerNormalization", [x, W("final_norm.weight"), W("final_norm.bias")], [OnnxGraph.Attr("axis", -1L), OnnxGraph.Attr("epsilon", 1e-5f)]);
        // The end token's row: index lengths − 1 along the sequence, broadcast over the width.
        var last = g.Node("Sub", [lengths, g.Ints([1], 1)]);
        var index = g.Node("Expand", [g.Node("Reshape", [last, g.Ints([-1, 1, 1], 3)]), g.Ints([1, 1, Width], 3)]);
        var ends = g.Node("Reshape", [g.Node("GatherElements", [x, index], [OnnxGraph.Attr("axis", 1L)]), g.Ints([-1, Width], 2)]);
        return g.Node("MatMul", [ends, W("projection")], output: output);
    }

    /// <summary>
    /// The projected end-token features, [B, EmbedDim], of token rows [B, L ≤ Context] (int32 or int64) whose captions are
    /// <paramref name="lengths"/> [B] ids long (end token at length − 1).
    /// </summary>
    public override Tensor forward(Tensor tokens, Tensor lengths)
    {
        using var scope = NewDisposeScope();
        if (tokens.dim() != 2) throw new ArgumentException($"token rows must be [B, L], not [{string.Join(", ", tokens.shape)}]");
        long b = tokens.shape[0];
        long longest = lengths.max().item<long>();
        if (longest < 1 || longest > tokens.shape[1] || longest > Context)
            throw new ArgumentException($"caption lengths must be 1 to {Math.Min(tokens.shape[1], Context)} ids, the longest is {longest}");
        var ids = tokens.narrow(1, 0, longest).to_type(ScalarType.Int64);
        var x = token.forward(ids) + position.narrow(0, 0, longest);
        x = dropout.forward(x);
        using var mask = full(longest, longest, double.NegativeInfinity, device: x.device).triu(1);
        foreach (var block in blocks) x = block.forward(x, mask);
        x = final_norm.forward(x);
        var last = (lengths.to_type(ScalarType.Int64) - 1).to(x.device);
        var ends = x[arange(b, device: x.device), last];
        return ends.matmul(projection).MoveToOuterDisposeScope();
    }
}
