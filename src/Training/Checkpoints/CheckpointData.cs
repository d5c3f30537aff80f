namespace Contrastive.Training;

/// <summary>A checkpoint read back: its info, the model's state and the optimizer's state (TorchSharp formats).</summary>
public sealed record CheckpointData(CheckpointInfo Info, byte[] Model, byte[] Optimizer, string Path);
