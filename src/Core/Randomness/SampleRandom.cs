
namespace Contrastive.Core;

/// <summary>
/// The random stream of one view of one sample: a pure function of (seed, epoch, sample index, view), so
/// augmentation does not depend on worker count, scheduling or the point a run resumed from.
/// </summary>
public struct SampleRandom
{
    private ulong _state;

    public SampleRandom(long seed, int epoch, long sampleIndex, int view)
    {
        _state = StableHash.Combine((ulong)seed, (ulong)epoch, (ulong)sampleIndex, (ulong)view);
    }

    public ulong NextUInt64()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return StableHash.Mix(_state);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [lo, hi).</summary>
    public double Uniform(double lo, double hi) => lo + (hi - lo) * NextDouble();

    /// <summary>Uniform integer in [0, n).</summary>
    public int NextInt(int n) => n <= 1 ? 0 : (int)((NextUInt64() >> 33) % (ulong)n);

    /// <summary>True with probability <paramref name="p"/>.</summary>
    public bool Chance(double p) => p >= 1 || (p > 0 && NextDouble() < p);
}
