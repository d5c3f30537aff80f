using Contrastive.Training;
using static TorchSharp.torch;

namespace Contrastive.Training.Tests;

/// <summary>Trainers and models built the way a run builds them, for tests.</summary>
internal static class TestTrainers
{
    /// <summary>A trainer of <paramref name="options"/>' method with that method's default options, on the CPU.</summary>
    public static ContrastiveTrainer Create(TrainingOptions options, int imageSize, int batchSize = 256, object? methodOptions = null, int channels = 0)
    {
        var registration = MethodRegistry.Get(options.Method);
        return new ContrastiveTrainer(registration, new MethodContext(options, methodOptions ?? registration.NewOptions(), CPU, imageSize, channels), batchSize);
    }

    /// <summary>The encoder + projection head a run of <paramref name="options"/> starts from.</summary>
    public static ProjectedEncoder Model(TrainingOptions options) => ImageModels.Create(new MethodContext(options, new SimClrOptions(), CPU, 32), 128);
}
