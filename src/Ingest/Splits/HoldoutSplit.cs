namespace Contrastive.Ingest;

/// <summary>
/// A deterministic train / held-out split by global sample index: a sample is held out when a hash of its
/// index and the salt falls below the fraction. Stable across runs, worker counts and resumes.
/// </summary>
public readonly record struct HoldoutSplit(double Fraction, ulong Salt = 0x5EEDC0DEUL)
{
    public static HoldoutSplit None => new(0);

    public bool IsHeldOut(long index)
    {
        if (Fraction <= 0) return false;
        ulong h = StableHash.Combine((ulong)index, Salt);
        return (h >> 11) * (1.0 / (1UL << 53)) < Fraction;
    }
}
