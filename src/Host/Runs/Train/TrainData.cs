using Contrastive.Ingest;
using Contrastive.Training;

namespace Contrastive.Host;

/// <summary>The data a training run reads, opened (the run's first step): the dataset, what the method takes of it, and the held-out split.</summary>
/// <param name="Channels">Series: channels per window (0 for images).</param>
/// <param name="Images">The method reads image datasets (decoded, or for a text-only method their captions alone).</param>
/// <param name="TextOnly">The method reads captions alone (simcse): nothing is decoded.</param>
/// <param name="Captions">The tokenizer the workers run on each caption; null: no captions read.</param>
internal sealed record TrainData(IImageDataset Dataset, int Channels, string Uri, bool Images, bool TextOnly, ICaptionEncoder? Captions, HoldoutSplit Split)
{
    /// <summary>Images are decoded and augmented (an image method, not a text-only one).</summary>
    public bool Decoded => Images && !TextOnly;

    /// <summary>The columns found, as the log and errors name them.</summary>
    public string ColumnList => string.Join(", ", Dataset.Columns.Select(c => $"{c.Key} = {c.Value}"));
}

/// <summary>The networks a run trains, built or resumed (the run's second step), with where its data continues from.</summary>
internal sealed class TrainModel(ContrastiveTrainer trainer, MethodContext context, CheckpointStore store) : IDisposable
{
    public ContrastiveTrainer Trainer { get; } = trainer;

    /// <summary>What the method was built from (the random-init baseline is built from it again).</summary>
    public MethodContext Context { get; } = context;

    public CheckpointStore Store { get; } = store;

    /// <summary>Where the data continues from (null: the start of <see cref="Epoch"/>).</summary>
    public ReadCursor? Cursor { get; init; }

    public int Epoch { get; init; }

    /// <summary>The step a resume continued from; null: a fresh run.</summary>
    public long? ResumedFrom { get; init; }

    /// <summary>Each epoch's read plan (the resumed epoch in the order its cursor was made in).</summary>
    public required Func<int, ReadPlan> PlanFor { get; init; }

    /// <summary>The read plan of epoch 0, for the log's description of the order.</summary>
    public required ReadPlan Order { get; init; }

    public void Dispose() => Trainer.Dispose();
}
