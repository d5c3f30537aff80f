using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Contrastive.Training;

/// <summary>
/// A small four-stage ConvNet (conv-BN-ReLU, 32-64-128-256 channels, max-pool between stages), its last feature map
/// average-pooled to a <c>pool</c> × <c>pool</c> grid and flattened: cheap enough to train on two CPU cores in minutes at
/// 32 px. A grid of 3 (2,304 features; the default) keeps where in the image a feature was found — on 28-px
/// Fashion-MNIST, whose last map is 3×3, it lifted kNN top-1 above a 2×2 grid's and global average pooling's
/// (<c>pool</c> 1, 256 features), both at random init and trained (docs/benchmarks.md, SimCLR defaults).
/// </summary>
public sealed class SmallConvNet : Encoder
{
    private readonly Chain _net;

    /// <summary>The default pooling grid (<see cref="TrainingOptions.ConvNetPool"/>).</summary>
    public const int DefaultPool = 3;

    public SmallConvNet(int width = 32, int pool = DefaultPool) : base(nameof(SmallConvNet))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pool, 1);
        int w1 = width, w2 = width * 2, w3 = width * 4, w4 = width * 8;
        _net = new Chain(
            Conv2d(3, w1, 3, padding: 1, bias: false), BatchNorm2d(w1), ReLU(inplace: true),
            MaxPool2d(2),
            Conv2d(w1, w2, 3, padding: 1, bias: false), BatchNorm2d(w2), ReLU(inplace: true),
            MaxPool2d(2),
            Conv2d(w2, w3, 3, padding: 1, bias: false), BatchNorm2d(w3), ReLU(inplace: true),
            MaxPool2d(2),
            Conv2d(w3, w4, 3, padding: 1, bias: false), BatchNorm2d(w4), ReLU(inplace: true),
            AdaptiveAvgPool2d(pool),
            Flatten());
        FeatureDim = w4 * pool * pool;
        RegisterComponents();
    }

    public override int FeatureDim { get; }

    public override Tensor forward(Tensor x) => _net.forward(x);
}
