using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Contrastive.Training;

/// <summary>
/// A small four-stage ConvNet (conv-BN-ReLU, 32-64-128-256 channels, max-pool between stages, global
/// average pool): cheap enough to train on two CPU cores in minutes at 32 px.
/// </summary>
public sealed class SmallConvNet : Encoder
{
    private readonly Chain _net;

    public SmallConvNet(int width = 32) : base(nameof(SmallConvNet))
    {
        int w1 = width, w2 = width * 2, w3 = width * 4, w4 = width * 8;
        _net = new Chain(
            Conv2d(3, w1, 3, padding: 1, bias: false), BatchNorm2d(w1), ReLU(inplace: true),
            MaxPool2d(2),
            Conv2d(w1, w2, 3, padding: 1, bias: false), BatchNorm2d(w2), ReLU(inplace: true),
            MaxPool2d(2),
            Conv2d(w2, w3, 3, padding: 1, bias: false), BatchNorm2d(w3), ReLU(inplace: true),
            MaxPool2d(2),
            Conv2d(w3, w4, 3, padding: 1, bias: false), BatchNorm2d(w4), ReLU(inplace: true),
            AdaptiveAvgPool2d(1),
            Flatten());
        FeatureDim = w4;
        RegisterComponents();
    }

    public override int FeatureDim { get; }

    public override Tensor forward(Tensor x) => _net.forward(x);
}
