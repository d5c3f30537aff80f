namespace Contrastive.Training;

/// <summary>What a checkpoint says about itself (stored as JSON in its header).</summary>
public sealed record CheckpointInfo
{
    /// <summary>2: the optimizer section holds two parts (the optimizer's state, the method's own) and <see cref="MethodOptions"/> is set. 1: earlier files.</summary>
    public int Format { get; init; } = 2;
    public string Method { get; init; } = "simclr";
    public string Encoder { get; init; } = "convnet";
    public bool SmallImages { get; init; } = true;

    /// <summary>The ConvNet's pooling grid (<see cref="TrainingOptions.ConvNetPool"/>); 1 in files that predate it (global average pooling).</summary>
    public int ConvNetPool { get; init; } = 1;

    /// <summary>Side of the (global) views in pixels; a series method's window length.</summary>
    public int ImageSize { get; init; }

    /// <summary>Series: channels per window (0 for images).</summary>
    public int Channels { get; init; }

    /// <summary>The method's own options as JSON (its registration's options class), so a run can be rebuilt from the file alone.</summary>
    public string? MethodOptions { get; init; }

    /// <summary>Format 1 only: the projection head's output size (now in <see cref="MethodOptions"/>).</summary>
    public int ProjectionDim { get; init; }
    public int ProjectionHidden { get; init; }
    public long Step { get; init; }
    public long Samples { get; init; }
    public int Epoch { get; init; }

    /// <summary>Where the data stream resumes: the sample after the last one trained on (null in checkpoints that predate it).</summary>
    public ReadCursor? Cursor { get; init; }
    /// <summary>The shuffle buffer's bounds the cursor was made under (samples, bytes); null in files that predate the buffer (one unit at a time).</summary>
    public long[]? ShuffleBuffer { get; init; }
    /// <summary>Processes that trained together (1: one process). A data-parallel checkpoint resumes with as many.</summary>
    public int WorldSize { get; init; } = 1;

    /// <summary>Data-parallel runs: every rank's resume point, by rank (<see cref="Cursor"/> is rank 0's); null with one process.</summary>
    public ReadCursor?[]? RankCursors { get; init; }

    /// <summary>
    /// A run resumed on another number of processes, while it still reads the epochs the earlier ranks left partly read:
    /// those ranks and their cursors, so a resume with as many processes as this checkpoint's reads them the same way.
    /// </summary>
    public ReadReshard? Reshard { get; init; }
    public double Seconds { get; init; }
    public long Seed { get; init; }
    public string CreatedUtc { get; init; } = DateTime.UtcNow.ToString("O");
}
