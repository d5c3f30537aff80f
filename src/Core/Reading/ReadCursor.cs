namespace Contrastive.Core;

/// <summary>
/// A position in the sample stream of a read plan (Contrastive.Ingest.ReadPlan): epoch <paramref name="Epoch"/>, the read unit at
/// <paramref name="Unit"/> of that epoch's order (a Parquet row group, a tar shard, a slice of an image folder's
/// permuted files; counted over all ranks), and <paramref name="Offset"/> samples into that unit's order (after the
/// split and the shuffle). Through a shuffle buffer (Contrastive.Ingest.ShuffleBuffer) the unit is a mixing group, named by
/// the position of its first read unit, and the offset counts samples into the group's mixed order.
/// Reading from a cursor yields exactly the samples that follow it, and does not read the units (groups) before it;
/// it holds for the plan it was taken under (same seed, ranks, split and shuffle buffer bounds).
/// In a weighted mix of sources, <see cref="Mix"/> holds the position (each source's own cursor and the mix's picks);
/// then <see cref="Epoch"/> is the mix's epoch and <see cref="Unit"/> and <see cref="Offset"/> are 0.
/// </summary>
public readonly record struct ReadCursor(int Epoch, int Unit, int Offset)
{
    /// <summary>The position in a weighted mix of sources, when the stream is one (null otherwise).</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public MixCursor? Mix { get; init; }

    /// <summary>A cursor in a weighted mix of sources.</summary>
    public static ReadCursor InMix(MixCursor mix) => new(mix.Epoch, 0, 0) { Mix = mix };

    public override string ToString() => Mix is { } mix ? $"epoch {Epoch} of the mix ({mix})" : $"epoch {Epoch}, unit {Unit}, offset {Offset}";

    /// <summary>Whether a plan for <paramref name="epoch"/> starting here skips the unit at <paramref name="position"/> entirely.</summary>
    public bool SkipsUnit(int epoch, int position) => epoch == Epoch && position < Unit;

    /// <summary>Samples to drop from the front of the unit at <paramref name="position"/> in <paramref name="epoch"/>.</summary>
    public int SkipInUnit(int epoch, int position) => epoch == Epoch && position == Unit ? Offset : 0;
}
