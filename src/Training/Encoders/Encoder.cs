using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>A backbone mapping normalised images [N, 3, H, W] to features [N, FeatureDim].</summary>
public abstract class Encoder(string name) : nn.Module<Tensor, Tensor>(name)
{
    public abstract int FeatureDim { get; }

    /// <summary>Builds an encoder by name: "convnet" (small ConvNet, its features pooled to a <paramref name="convNetPool"/>² grid), "resnet18", "resnet34" or "resnet50".</summary>
    public static Encoder Create(string name, bool smallImages, int convNetPool = SmallConvNet.DefaultPool) => name.ToLowerInvariant() switch
    {
        "convnet" => new SmallConvNet(pool: convNetPool),
        "resnet18" => new ResNet(18, smallImages),
        "resnet34" => new ResNet(34, smallImages),
        "resnet50" => new ResNet(50, smallImages),
        _ => throw new ArgumentException($"Unknown encoder '{name}': use convnet, resnet18, resnet34 or resnet50."),
    };
}
