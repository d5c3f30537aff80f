namespace Contrastive.Ingest;

/// <summary>Constants shared by everything that handles samples.</summary>
public static class Sample
{
    /// <summary>The label of a sample that has none.</summary>
    public const long NoLabel = Batch.NoLabel;
}
