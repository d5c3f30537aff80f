namespace Contrastive.Training;

/// <summary>
/// A representation loss whose negatives can be the whole global batch when several processes train together (SimCLR,
/// SupCon): the trainer then gathers every rank's representations and applies <see cref="GlobalContrastLoss"/> with
/// these keys and temperature, in two stages (<see cref="GlobalBatch"/>).
/// </summary>
public interface IGlobalNegatives : IRepresentationLoss
{
    /// <summary>
    /// A key per row of <see cref="IRepresentationLoss.Inputs"/>: rows with equal keys are positives. Non-negative keys are
    /// global (class labels); negative keys are instance ids within this process's batch (made distinct across ranks).
    /// </summary>
    long[] RowKeys(Batch batch);

    /// <summary>The softmax temperature.</summary>
    double Temperature { get; }
}
