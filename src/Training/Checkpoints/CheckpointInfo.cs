namespace Contrastive.Training;

/// <summary>What a checkpoint says about itself (stored as JSON in its header).</summary>
public sealed record CheckpointInfo
{
    public int Format { get; init; } = 1;
    public string Method { get; init; } = "simclr";
    public string Encoder { get; init; } = "convnet";
    public bool SmallImages { get; init; } = true;
    public int ImageSize { get; init; }
    public int ProjectionDim { get; init; }
    public int ProjectionHidden { get; init; }
    public long Step { get; init; }
    public long Samples { get; init; }
    public int Epoch { get; init; }

    /// <summary>Where the data stream resumes: the sample after the last one trained on (null in checkpoints that predate it).</summary>
    public Contrastive.Ingest.ReadCursor? Cursor { get; init; }
    public double Seconds { get; init; }
    public long Seed { get; init; }
    public string CreatedUtc { get; init; } = DateTime.UtcNow.ToString("O");
}
