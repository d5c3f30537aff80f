namespace Contrastive.Augment.Tests;

public class SeriesWindowTests
{
    /// <summary>A two-channel series whose values say where they are: channel c, step t → c * 10000 + t + 1.</summary>
    private static float[] Series(int channels, int length)
    {
        var s = new float[channels * length];
        for (int c = 0; c < channels; c++)
            for (int t = 0; t < length; t++) s[c * length + t] = c * 10000 + t + 1;
        return s;
    }

    private static SeriesWindowPolicy Plain(int length) => new(new SeriesWindowOptions
    {
        Length = length, ScaleProbability = 0, NoiseProbability = 0, MaskProbability = 0,
    });

    [Fact]
    public void A_window_is_a_slice_of_every_channel_at_a_start_that_depends_only_on_the_sample()
    {
        var policy = Plain(64);
        var series = Series(2, 1000);
        var starts = new HashSet<int>();
        var dst = new float[2 * 64];
        for (long index = 0; index < 200; index++)
        {
            int start = policy.WindowStart(1000, seed: 7, epoch: 1, index);
            Assert.InRange(start, 0, 1000 - 64);
            starts.Add(start);
            policy.Write(series, 2, 1000, 7, 1, index, 0, dst);
            for (int c = 0; c < 2; c++)
                Assert.Equal(series.AsSpan(c * 1000 + start, 64).ToArray(), dst.AsSpan(c * 64, 64).ToArray());
            var again = new float[2 * 64];
            policy.Write(series, 2, 1000, 7, 1, index, 0, again);
            Assert.Equal(dst, again);
        }
        Assert.True(starts.Count > 150, $"only {starts.Count} distinct starts over 200 samples");
        Assert.NotEqual(Enumerable.Range(0, 20).Select(i => policy.WindowStart(1000, 7, 1, i)), Enumerable.Range(0, 20).Select(i => policy.WindowStart(1000, 7, 2, i))); // epochs differ
    }

    [Fact]
    public void A_series_shorter_than_the_window_is_padded_with_zeros()
    {
        var dst = Enumerable.Repeat(9f, 2 * 16).ToArray();
        Plain(16).Write(Series(2, 10), 2, 10, 0, 0, 3, 0, dst);
        Assert.Equal(Enumerable.Range(1, 10).Select(t => (float)t).Concat(Enumerable.Repeat(0f, 6)), dst[..16]);
        Assert.Equal(Enumerable.Range(1, 10).Select(t => 10000f + t).Concat(Enumerable.Repeat(0f, 6)), dst[16..]);
    }

    [Fact]
    public void Scaling_multiplies_all_channels_by_one_factor_in_range()
    {
        var policy = new SeriesWindowPolicy(new SeriesWindowOptions { Length = 32, ScaleProbability = 1, ScaleMin = 0.5, ScaleMax = 1.5, NoiseProbability = 0, MaskProbability = 0 });
        var plain = Plain(32);
        var series = Series(2, 100);
        var factors = new List<double>();
        for (long i = 0; i < 50; i++)
        {
            var a = new float[64];
            var b = new float[64];
            policy.Write(series, 2, 100, 1, 0, i, 0, a);
            plain.Write(series, 2, 100, 1, 0, i, 0, b);
            double f = a[0] / b[0];
            Assert.InRange(f, 0.5, 1.5);
            for (int k = 0; k < 64; k++) Assert.Equal(b[k] * f, a[k], b[k] * 1e-5);
            factors.Add(f);
        }
        Assert.True(factors.Max() - factors.Min() > 0.5);
    }

    [Fact]
    public void Masking_zeroes_one_contiguous_span_no_longer_than_the_limit()
    {
        var policy = new SeriesWindowPolicy(new SeriesWindowOptions { Length = 100, MaskProbability = 1, MaskMaxFraction = 0.2, ScaleProbability = 0, NoiseProbability = 0 });
        var series = Series(1, 500);
        int masked = 0;
        for (long i = 0; i < 40; i++)
        {
            var dst = new float[100];
            policy.Write(series, 1, 500, 2, 0, i, 0, dst);
            var zeros = Enumerable.Range(0, 100).Where(t => dst[t] == 0).ToList();
            Assert.InRange(zeros.Count, 0, 20);
            if (zeros.Count > 0) { masked++; Assert.Equal(zeros.Count - 1, zeros[^1] - zeros[0]); } // contiguous
        }
        Assert.True(masked > 30);
    }

    [Fact]
    public void Noise_is_zero_mean_and_scaled_to_the_window_rms()
    {
        var policy = new SeriesWindowPolicy(new SeriesWindowOptions { Length = 4000, NoiseProbability = 1, NoiseLevel = 0.1, ScaleProbability = 0, MaskProbability = 0 });
        var series = Enumerable.Range(0, 8000).Select(t => (float)Math.Sin(t * 0.01) * 3).ToArray(); // RMS ≈ 3 / √2
        var clean = new float[4000];
        var noisy = new float[4000];
        Plain(4000).Write(series, 1, 8000, 5, 0, 1, 0, clean);
        policy.Write(series, 1, 8000, 5, 0, 1, 0, noisy);
        var diff = noisy.Zip(clean, (a, b) => (double)(a - b)).ToArray();
        double rms = Math.Sqrt(clean.Average(v => (double)v * v));
        double mean = diff.Average(), sd = Math.Sqrt(diff.Average(d => (d - mean) * (d - mean)));
        Assert.InRange(mean, -0.02 * rms, 0.02 * rms);
        Assert.InRange(sd, 0.09 * rms, 0.11 * rms);
    }
}
