namespace Contrastive.Augment;

/// <summary>How mixed the batches are, over the batches measured.</summary>
/// <param name="Batches">Batches measured.</param>
/// <param name="MeanDistinctLabels">Distinct labels per batch, on average (labelled data; 0 without labels).</param>
/// <param name="UniformDistinctLabels">What uniform random sampling gives for the same batch size, from the labels seen (0 without labels).</param>
/// <param name="LabelsSeen">Distinct labels seen over all the batches measured.</param>
/// <param name="MeanLargestUnitShare">The share of a batch from its most common read unit (shard and row group or segment), on average.</param>
public sealed record DiversityReport(long Batches, double MeanDistinctLabels, double UniformDistinctLabels, int LabelsSeen, double MeanLargestUnitShare)
{
    /// <summary>Observed distinct labels over uniform sampling's (1: as mixed as random sampling; 0 without labels).</summary>
    public double Ratio => UniformDistinctLabels > 0 ? MeanDistinctLabels / UniformDistinctLabels : 0;

    /// <summary>One line for a log.</summary>
    public string Summary() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{(UniformDistinctLabels > 0 ? $"{MeanDistinctLabels:F1} labels a batch (uniform sampling {UniformDistinctLabels:F1}, {Ratio:P0}), " : "")}largest share from one read unit {MeanLargestUnitShare:P0}");
}
