using Contrastive.Augment;
using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>The encoder + projection head every image method starts from, and the checks they share.</summary>
public static class ImageModels
{
    /// <summary>Hidden width of the projection head: the encoder's feature size, as in SimCLR (the ConvNet: 256, its channels, whatever its pooling grid).</summary>
    public static int ProjectionHidden(string encoder) => encoder switch { "resnet18" or "resnet34" => 512, "resnet50" => 2048, _ => 256 };

    /// <summary>A fresh encoder + projection head with the run seed's initialisation, on the context's device.</summary>
    public static ProjectedEncoder Create(MethodContext context, int projectionDim)
    {
        TorchSharp.torch.manual_seed(context.Training.Seed);
        var model = Factory(context, projectionDim)();
        model.to(context.Device);
        return model;
    }

    /// <summary>New networks of the same architecture (a target, teacher or key network), initialised by the caller's copy.</summary>
    public static Func<ProjectedEncoder> Factory(MethodContext context, int projectionDim)
    {
        var o = context.Training;
        bool small = o.SmallStem(context.ImageSize);
        return () => new ProjectedEncoder(o.Encoder, small, ProjectionHidden(o.Encoder), projectionDim, o.ConvNetPool);
    }

    /// <summary>A batch of exactly two same-size views of at least two samples, as pair methods need.</summary>
    public static void RequirePairs(Batch batch, string method)
    {
        if (batch.Views != 2) throw new ArgumentException($"--method {method} needs 2 views per sample, the batch has {batch.Views}.");
        if (batch.Count < 2) throw new ArgumentException($"--method {method} needs at least 2 samples per batch.");
    }

    /// <summary>Encoder features of the batch's first view, [Count, D], on the CPU, without a graph.</summary>
    public static Tensor Embed(Encoder encoder, Batch batch, Device device)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        encoder.eval();
        var x = ImageInput.ToTensor(batch, device, 0, 1);
        return encoder.forward(x).cpu().MoveToOuterDisposeScope();
    }
}
