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
        var layers = new List<Module<Tensor, Tensor>>();
        int inCh = 64, expansion = bottleneck ? 4 : 1;
        int[] widths = [64, 128, 256, 512];
        for (int stage = 0; stage < 4; stage++)
        {
            for (int b = 0; b < blocks[stage]; b++)
            {
                int stride = stage > 0 && b == 0 ? 2 : 1;
                layers.Add(bottleneck ? new Bottleneck(inCh, widths[stage], stride) : new BasicBlock(inCh, widths[stage], stride));
                inCh = widths[stage] * expansion;
            }
        }
        layers.Add(AdaptiveAvgPool2d(1));
        layers.Add(Flatten());
        _layers = new Chain(layers);
        FeatureDim = inCh;
        RegisterComponents();
    }

    public int Depth { get; }

    public override int FeatureDim { get; }

    public override Tensor forward(Tensor x)
    {
        using var s = _stem.forward(x);
        return _layers.forward(s);
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
