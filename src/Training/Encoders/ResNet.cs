using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Contrastive.Training;

/// <summary>
/// ResNet-18, -34 and -50 (He et al. 2016): basic blocks [2, 2, 2, 2] or [3, 4, 6, 3] with 64-128-256-512 channels,
/// or bottleneck blocks [3, 4, 6, 3] (1×1, 3×3, 1×1, expansion 4: 2048 features), as torchvision builds them
/// (stride on the 3×3 convolution). The ImageNet stem is a 7×7 stride-2 convolution and a max-pool; the small-image stem
/// (CIFAR-style, as in SimCLR's CIFAR experiments) is a 3×3 stride-1 convolution without the pool.
/// </summary>
public sealed class ResNet : Encoder
{
    private readonly Chain _stem;
    private readonly Chain _layers;
    private readonly string[] _blockNames;
    private readonly int[] _blockStrides;

    public ResNet(int depth, bool smallImages) : base($"ResNet{depth}")
    {
        (int[] blocks, bool bottleneck) = depth switch
        {
            18 => (new[] { 2, 2, 2, 2 }, false),
            34 => (new[] { 3, 4, 6, 3 }, false),
            50 => (new[] { 3, 4, 6, 3 }, true),
            _ => throw new ArgumentException($"ResNet depth {depth} is not built here: use 18, 34 or 50."),
        };
        Depth = depth;
        _stem = smallImages
            ? new Chain(Conv2d(3, 64, 3, stride: 1, padding: 1, bias: false), BatchNorm2d(64), ReLU(inplace: true))
            : new Chain(Conv2d(3, 64, 7, stride: 2, padding: 3, bias: false), BatchNorm2d(64), ReLU(inplace: true), MaxPool2d(3, stride: 2, padding: 1));
        SmallImages = smallImages;
        var layers = new List<Module<Tensor, Tensor>>();
        var blockNames = new List<string>();
        var blockStrides = new List<int>();
        int inCh = 64, expansion = bottleneck ? 4 : 1;
        int[] widths = [64, 128, 256, 512];
        for (int stage = 0; stage < 4; stage++)
        {
            for (int b = 0; b < blocks[stage]; b++)
            {
                int stride = stage > 0 && b == 0 ? 2 : 1;
                layers.Add(bottleneck ? new Bottleneck(inCh, widths[stage], stride) : new BasicBlock(inCh, widths[stage], stride));
                blockNames.Add($"layer{stage + 1}.{b}");
                blockStrides.Add(stride);
                inCh = widths[stage] * expansion;
            }
        }
        layers.Add(AdaptiveAvgPool2d(1));
        layers.Add(Flatten());
        _layers = new Chain(layers);
        _blockNames = [.. blockNames];
        _blockStrides = [.. blockStrides];
        Bottlenecks = bottleneck;
        FeatureDim = inCh;
        RegisterComponents();
    }

    public int Depth { get; }

    /// <summary>Whether the stem is the small-image one (3×3 stride 1, no max-pool).</summary>
    public bool SmallImages { get; }

    /// <summary>Whether the blocks are bottlenecks (ResNet-50).</summary>
    internal bool Bottlenecks { get; }

    /// <summary>
    /// torchvision's state_dict name of one of this module's state names: <c>_stem.0</c> → <c>conv1</c>, <c>_stem.1</c> →
    /// <c>bn1</c>, the k-th block's <c>_main.i</c> → <c>layerS.B.convN</c> / <c>bnN</c> and <c>_shortcut.i</c> →
    /// <c>layerS.B.downsample.i</c>.
    /// </summary>
    internal string TorchvisionName(string name)
    {
        string[] p = name.Split('.');
        if (p[0] == "_stem" && p.Length == 3) return (p[1] == "0" ? "conv1." : "bn1.") + p[2];
        if (p[0] == "_layers" && p.Length == 5)
        {
            string block = _blockNames[int.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture)];
            if (p[2] == "_shortcut") return $"{block}.downsample.{p[3]}.{p[4]}";
            // conv-BN-ReLU triples: index 3k is conv k+1, 3k+1 its BN.
            int i = int.Parse(p[3], System.Globalization.CultureInfo.InvariantCulture);
            return $"{block}.{(i % 3 == 0 ? "conv" : "bn")}{i / 3 + 1}.{p[4]}";
        }
        throw new InvalidOperationException($"no torchvision name for ResNet state '{name}'");
    }

    public override int FeatureDim { get; }

    public override Tensor forward(Tensor x)
    {
        using var s = _stem.forward(x);
        return _layers.forward(s);
    }

    /// <summary>
    /// Adds this network to an ONNX graph after <paramref name="x"/> (normalised images), with its weights as initializers
    /// under torchvision's names; the last node's output is <paramref name="output"/>, the features [N, FeatureDim].
    /// </summary>
    internal string Onnx(OnnxGraph g, string x, string output)
    {
        var state = state_dict();
        string W(string name) => g.Weight(TorchvisionName(name), state[name]);
        string Bn(string v, string p) => g.BatchNorm(v, W(p + ".weight"), W(p + ".bias"), W(p + ".running_mean"), W(p + ".running_var"));
        string ConvBn(string v, string p, int conv, int kernel, int stride) =>
            Bn(g.Conv(v, W($"{p}.{conv}.weight"), null, kernel, stride, kernel / 2), $"{p}.{conv + 1}");
        x = g.Relu(ConvBn(x, "_stem", 0, SmallImages ? 3 : 7, SmallImages ? 1 : 2));
        if (!SmallImages) x = g.MaxPool(x, 3, 2, 1);
        for (int i = 0; i < _blockNames.Length; i++)
        {
            string p = $"_layers.{i}._main";
            int stride = _blockStrides[i];
            string h = Bottlenecks
                ? ConvBn(g.Relu(ConvBn(g.Relu(ConvBn(x, p, 0, 1, 1)), p, 3, 3, stride)), p, 6, 1, 1)
                : ConvBn(g.Relu(ConvBn(x, p, 0, 3, stride)), p, 3, 3, 1);
            string shortcut = state.ContainsKey($"_layers.{i}._shortcut.0.weight") ? ConvBn(x, $"_layers.{i}._shortcut", 0, 1, stride) : x;
            x = g.Relu(g.Add(h, shortcut));
        }
        return g.Flatten(g.Node("GlobalAveragePool", [x]), output);
    }

    /// <summary>ReLU(main(x) + shortcut(x)), the shortcut being the identity when there is none. Each block keeps its own
    /// fields (TorchSharp registers submodules by field, and checkpoint keys follow the field names).</summary>
    private static Tensor Residual(Chain main, Chain? shortcut, Tensor x)
    {
        using var m = main.forward(x);
        using var s = shortcut is null ? x.alias() : shortcut.forward(x);
        return functional.relu(m + s);
    }

    private sealed class BasicBlock : Module<Tensor, Tensor>
    {
        private readonly Chain _main;
        private readonly Chain? _shortcut;

        public BasicBlock(int inCh, int outCh, int stride) : base(nameof(BasicBlock))
        {
            _main = new Chain(
                Conv2d(inCh, outCh, 3, stride: stride, padding: 1, bias: false), BatchNorm2d(outCh), ReLU(inplace: true),
                Conv2d(outCh, outCh, 3, stride: 1, padding: 1, bias: false), BatchNorm2d(outCh));
            if (stride != 1 || inCh != outCh)
                _shortcut = new Chain(Conv2d(inCh, outCh, 1, stride: stride, bias: false), BatchNorm2d(outCh));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => Residual(_main, _shortcut, x);
    }

    private sealed class Bottleneck : Module<Tensor, Tensor>
    {
        private readonly Chain _main;
        private readonly Chain? _shortcut;

        public Bottleneck(int inCh, int width, int stride) : base(nameof(Bottleneck))
        {
            int outCh = width * 4;
            _main = new Chain(
                Conv2d(inCh, width, 1, bias: false), BatchNorm2d(width), ReLU(inplace: true),
                Conv2d(width, width, 3, stride: stride, padding: 1, bias: false), BatchNorm2d(width), ReLU(inplace: true),
                Conv2d(width, outCh, 1, bias: false), BatchNorm2d(outCh));
            if (stride != 1 || inCh != outCh)
                _shortcut = new Chain(Conv2d(inCh, outCh, 1, stride: stride, bias: false), BatchNorm2d(outCh));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => Residual(_main, _shortcut, x);
    }
}
