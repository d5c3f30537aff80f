namespace Contrastive.Core;

/// <summary>
/// A position in a weighted mix of several data sources (Contrastive.Ingest.WeightedDataset): how many samples the mix has
/// taken from each source so far (<paramref name="Picks"/>, by source) and where each source's own stream goes on
/// (<paramref name="Sources"/>: the cursor of its next sample, in its own epochs). The mix's choice of source for each next
/// sample is a pure function of the picks and the weights, so the picks and the sources' cursors resume the mixed stream
/// exactly. <paramref name="Weights"/> are the weights the picks are being made under (normalised to sum 1).
/// </summary>
public sealed record MixCursor(IReadOnlyList<long> Picks, IReadOnlyList<ReadCursor> Sources, IReadOnlyList<double> Weights)
{
    /// <summary>
    /// The picks when <see cref="Weights"/> took effect (a resume with new weights; null: from the start): the shares are
    /// kept from there on, so new weights apply to the samples after the change, not to the whole run.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<long>? Since { get; init; }

    /// <summary>Samples the mix has taken from all sources.</summary>
    public long Total => Picks.Sum();

    /// <summary>The mix's epoch: the lowest of its sources' epochs (every source has been read through that many times).</summary>
    public int Epoch => Sources.Count == 0 ? 0 : Sources.Min(s => s.Epoch);

    /// <summary>Whether <paramref name="weights"/> are the weights of this cursor (to 9 decimals, as normalised sums differ in the last bits).</summary>
    public bool SameWeights(IReadOnlyList<double> weights) => Weights.Select(w => Math.Round(w, 9)).SequenceEqual(weights.Select(w => Math.Round(w, 9)));

    /// <summary>Equal when the picks, the sources' cursors, the weights and <see cref="Since"/> are (element by element).</summary>
    public bool Equals(MixCursor? other) => other is not null && Picks.SequenceEqual(other.Picks) && Sources.SequenceEqual(other.Sources) && Weights.SequenceEqual(other.Weights)
        && (Since ?? []).SequenceEqual(other.Since ?? []);

    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (long p in Picks) h.Add(p);
        foreach (var s in Sources) h.Add(s);
        return h.ToHashCode();
    }

    public override string ToString() =>
        string.Join("; ", Sources.Select((s, i) => $"source {i}: {Picks[i]} taken, {s}"));
}
