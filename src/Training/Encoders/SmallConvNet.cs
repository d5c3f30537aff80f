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
        Pool = pool;
        Width = width;
        RegisterComponents();
    }

    public override int FeatureDim { get; }

    /// <summary>The side of the grid the last feature map is average-pooled to.</summary>
    public int Pool { get; }

    /// <summary>The first stage's channels (the others: 2×, 4×, 8×).</summary>
    public int Width { get; }

    /// <summary>
    /// Adds this network to an ONNX graph after <paramref name="x"/> (normalised <paramref name="imageSize"/>² images), its
    /// weights named <c>features.I.*</c>; the adaptive pooling of the last map (side <paramref name="imageSize"/> / 8) to the
    /// grid is a product with its averaging matrix (ONNX has no adaptive pooling). Returns <paramref name="output"/>.
    /// </summary>
    internal string Onnx(OnnxGraph g, string x, int imageSize, string output)
    {
        var state = state_dict();
        string W(int layer, string name) => g.Weight($"features.{layer}.{name}", state[$"_net.{layer}.{name}"]);
        int side = imageSize;
        for (int stage = 0; stage < 4; stage++)
        {
            int c = 4 * stage, b = c + 1;
            x = g.Conv(x, W(c, "weight"), null, 3, 1, 1);
            x = g.Relu(g.BatchNorm(x, W(b, "weight"), W(b, "bias"), W(b, "running_mean"), W(b, "running_var")));
            if (stage < 3)
            {
                x = g.MaxPool(x, 2, 2, 0);
                side /= 2;
            }
        }
        if (side < 1) throw new ArgumentException($"a {imageSize}-px image leaves no feature map after the ConvNet's three poolings");
        // PyTorch's adaptive average pooling: bin i covers [floor(i·side/pool), ceil((i+1)·side/pool)).
        var matrix = new float[side * side * Pool * Pool];
        for (int i = 0; i < Pool; i++)
            for (int j = 0; j < Pool; j++)
            {
                int r0 = i * side / Pool, r1 = ((i + 1) * side + Pool - 1) / Pool, c0 = j * side / Pool, c1 = ((j + 1) * side + Pool - 1) / Pool;
                float w = 1f / ((r1 - r0) * (c1 - c0));
                for (int r = r0; r < r1; r++)
                    for (int col = c0; col < c1; col++) matrix[(r * side + col) * Pool * Pool + i * Pool + j] = w;
            }
        long channels = Width * 8;
        var rows = g.Node("Reshape", [x, g.Ints([0, channels, side * side], 3)]);
        var pooled = g.Node("MatMul", [rows, g.Constant(matrix, side * side, Pool * Pool)]);
        return g.Flatten(pooled, output);
    }

    public override Tensor forward(Tensor x) => _net.forward(x);
}
