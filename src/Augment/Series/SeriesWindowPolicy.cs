namespace Contrastive.Augment;

/// <summary>
/// Cuts a random window of <see cref="SeriesWindowOptions.Length"/> time steps out of a series and augments it
/// (amplitude scaling, additive Gaussian noise relative to the window's RMS, one masked span), writing
/// channels × length floats, channel-major. Every choice comes from <see cref="SampleRandom"/> of (seed, epoch,
/// sample index, view): a pure function of the sample, whatever the worker or the resume point. A series shorter
/// than the window is placed at the start and padded with zeros.
/// </summary>
public sealed class SeriesWindowPolicy
{
    private readonly SeriesWindowOptions _o;

    public SeriesWindowPolicy(SeriesWindowOptions options)
    {
        if (options.ScaleMin > options.ScaleMax) throw new ArgumentException($"ScaleMin {options.ScaleMin} is above ScaleMax {options.ScaleMax}");
        _o = options;
    }

    public int Length => _o.Length;

    /// <summary>Where the window of sample <paramref name="index"/> starts in a series of <paramref name="seriesLength"/> steps.</summary>
    public int WindowStart(int seriesLength, long seed, int epoch, long index, int view = 0)
    {
        var rng = new SampleRandom(seed, epoch, index, view);
        return seriesLength <= _o.Length ? 0 : rng.NextInt(seriesLength - _o.Length + 1);
    }

    /// <param name="series">The sample: <paramref name="channels"/> × <paramref name="seriesLength"/> floats, channel-major.</param>
    /// <param name="dst">channels × <see cref="Length"/> floats, channel-major.</param>
    public void Write(ReadOnlySpan<float> series, int channels, int seriesLength, long seed, int epoch, long index, int view, Span<float> dst)
    {
        int len = _o.Length;
        if (series.Length < channels * seriesLength) throw new ArgumentException($"the series has {series.Length} values, not {channels} × {seriesLength}");
        if (dst.Length < channels * len) throw new ArgumentException("destination too small", nameof(dst));
        var rng = new SampleRandom(seed, epoch, index, view);
        int start = seriesLength <= len ? 0 : rng.NextInt(seriesLength - len + 1); // the same draw as WindowStart
        int take = Math.Min(len, seriesLength);
        for (int c = 0; c < channels; c++)
        {
            var d = dst.Slice(c * len, len);
            series.Slice(c * seriesLength + start, take).CopyTo(d);
            d[take..].Clear();
        }

        if (rng.Chance(_o.ScaleProbability))
        {
            float factor = (float)rng.Uniform(_o.ScaleMin, _o.ScaleMax);
            foreach (ref float v in dst[..(channels * len)]) v *= factor;
        }
        if (rng.Chance(_o.NoiseProbability) && _o.NoiseLevel > 0)
        {
            for (int c = 0; c < channels; c++)
            {
                var d = dst.Slice(c * len, take);
                double sum = 0;
                foreach (float v in d) sum += (double)v * v;
                double sigma = _o.NoiseLevel * Math.Sqrt(sum / Math.Max(1, take));
                for (int t = 0; t < take; t++) d[t] += (float)(sigma * Gaussian(ref rng));
            }
        }
        if (rng.Chance(_o.MaskProbability))
        {
            int span = rng.NextInt((int)(_o.MaskMaxFraction * len) + 1);
            int at = rng.NextInt(len - span + 1);
            for (int c = 0; c < channels; c++) dst.Slice(c * len + at, span).Clear();
        }
    }

    /// <summary>A standard normal draw (Box–Muller).</summary>
    private static double Gaussian(ref SampleRandom rng)
    {
        double u1 = 1.0 - rng.NextDouble(); // (0, 1]
        double u2 = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
