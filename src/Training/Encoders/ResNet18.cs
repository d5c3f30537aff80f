using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Contrastive.Training;

/// <summary>
/// ResNet-18 (He et al. 2016): basic blocks [2, 2, 2, 2] with 64-128-256-512 channels. The ImageNet stem is
/// a 7×7 stride-2 convolution and a max-pool; the small-image stem (CIFAR-style, as in SimCLR's CIFAR
/// experiments) is a 3×3 stride-1 convolution without the pool.
/// </summary>
public sealed class ResNet18 : Encoder
{
    private readonly Sequential _stem;
    private readonly Sequential _layers;

    public ResNet18(bool smallImages) : base(nameof(ResNet18))
    {
        _stem = smallImages
            ? Sequential(Conv2d(3, 64, 3, stride: 1, padding: 1, bias: false), BatchNorm2d(64), ReLU(inplace: true))
            : Sequential(Conv2d(3, 64, 7, stride: 2, padding: 3, bias: false), BatchNorm2d(64), ReLU(inplace: true), MaxPool2d(3, stride: 2, padding: 1));
        _layers = Sequential(
            new BasicBlock(64, 64, 1), new BasicBlock(64, 64, 1),
            new BasicBlock(64, 128, 2), new BasicBlock(128, 128, 1),
            new BasicBlock(128, 256, 2), new BasicBlock(256, 256, 1),
            new BasicBlock(256, 512, 2), new BasicBlock(512, 512, 1),
            AdaptiveAvgPool2d(1), Flatten());
        RegisterComponents();
    }

    public override int FeatureDim => 512;

    public override Tensor forward(Tensor x)
    {
        using var s = _stem.forward(x);
        return _layers.forward(s);
    }

    private sealed class BasicBlock : Module<Tensor, Tensor>
    {
        private readonly Sequential _main;
        private readonly Sequential? _shortcut;

        public BasicBlock(int inCh, int outCh, int stride) : base(nameof(BasicBlock))
        {
            _main = Sequential(
                Conv2d(inCh, outCh, 3, stride: stride, padding: 1, bias: false), BatchNorm2d(outCh), ReLU(inplace: true),
                Conv2d(outCh, outCh, 3, stride: 1, padding: 1, bias: false), BatchNorm2d(outCh));
            if (stride != 1 || inCh != outCh)
                _shortcut = Sequential(Conv2d(inCh, outCh, 1, stride: stride, bias: false), BatchNorm2d(outCh));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var main = _main.forward(x);
            using var shortcut = _shortcut is null ? x.alias() : _shortcut.forward(x);
            return functional.relu(main + shortcut);
        }
    }
}
