using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>What a method is built from: the run's settings, its own options, the device and the input's shape.</summary>
/// <param name="Training">The run's shared settings (encoder, seed, optimizer, ...).</param>
/// <param name="Options">The method's own options (its <see cref="MethodRegistration.OptionsType"/>).</param>
/// <param name="Device">Where the networks live.</param>
/// <param name="ImageSize">Side of the (global) views in pixels (images); window length in samples (series).</param>
/// <param name="Channels">Series: channels per window (0 for images).</param>
public sealed record MethodContext(TrainingOptions Training, object Options, Device Device, int ImageSize, int Channels = 0)
{
    /// <summary>The processes training together (one by default): methods gather negatives, queue keys and centres across it.</summary>
    public IProcessGroup Group { get; init; } = SingleProcessGroup.Instance;
}
