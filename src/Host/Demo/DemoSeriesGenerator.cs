using Contrastive.Ingest;

namespace Contrastive.Host;

/// <summary>
/// A synthetic labelled time-series set for the CPC path: six classes of processes whose identity shows in any
/// stretch of the signal, each with random phase, amplitude and noise, so a representation has to learn the
/// process, not memorise values. Frequencies are in cycles per sample (0.01 is 160 Hz at 16 kHz).
/// 0, 1: mixtures of three sinusoids in a low (0.002–0.006) or a high (0.02–0.04) band;
/// 2, 3: second-order autoregressive processes resonating near 0.01 or 0.05;
/// 4, 5: chirps sweeping up from 0.001 to 0.03, or down.
/// </summary>
internal static class DemoSeriesGenerator
{
    public const int Classes = 6;

    /// <summary>Series <paramref name="index"/> of the set with <paramref name="seed"/>: its label and values (one channel).</summary>
    public static SeriesRow Make(long seed, long index, int length)
    {
        var rng = new Random((int)(StableHash.Combine((ulong)seed, (ulong)index, 0x5E71E5) >> 33));
        int label = (int)(index % Classes);
        var x = new float[length];
        double amplitude = 0.5 + 1.5 * rng.NextDouble();
        switch (label)
        {
            case 0 or 1:
                double lo = label == 0 ? 0.002 : 0.02, hi = label == 0 ? 0.006 : 0.04;
                for (int m = 0; m < 3; m++)
                {
                    double f = lo + (hi - lo) * rng.NextDouble(), phase = rng.NextDouble() * 2 * Math.PI, a = 0.3 + rng.NextDouble();
                    for (int t = 0; t < length; t++) x[t] += (float)(a * Math.Sin(2 * Math.PI * f * t + phase));
                }
                break;
            case 2 or 3:
                double centre = (label == 2 ? 0.01 : 0.05) * (0.9 + 0.2 * rng.NextDouble()), r = label == 2 ? 0.98 : 0.95;
                double a1 = 2 * r * Math.Cos(2 * Math.PI * centre), a2 = -r * r, y1 = 0, y2 = 0;
                for (int t = -200; t < length; t++) // run in so the start is already stationary
                {
                    double y = a1 * y1 + a2 * y2 + Gaussian(rng);
                    y2 = y1;
                    y1 = y;
                    if (t >= 0) x[t] = (float)(y * (1 - r) * 2);
                }
                break;
            default:
                double f0 = 0.001, f1 = 0.03, ph = rng.NextDouble() * 2 * Math.PI, acc = 0;
                for (int t = 0; t < length; t++)
                {
                    double u = (double)t / length, f = label == 4 ? f0 + (f1 - f0) * u : f1 - (f1 - f0) * u;
                    acc += 2 * Math.PI * f;
                    x[t] = (float)Math.Sin(acc + ph);
                }
                break;
        }
        double noise = 0.1 + 0.2 * rng.NextDouble();
        for (int t = 0; t < length; t++) x[t] = (float)(amplitude * x[t] + noise * Gaussian(rng));
        return new SeriesRow([x], label);
    }

    /// <summary>Writes <paramref name="count"/> series of <paramref name="length"/> samples as time-series Parquet shards.</summary>
    public static async Task<int> WriteAsync(string output, int count, int length, long seed, Action<string>? progress = null, CancellationToken ct = default)
    {
        Directory.CreateDirectory(output);
        const int perShard = 500;
        int shards = 0;
        for (int first = 0; first < count; first += perShard, shards++)
        {
            ct.ThrowIfCancellationRequested();
            var rows = Enumerable.Range(first, Math.Min(perShard, count - first)).Select(i => Make(seed, i, length)).ToList();
            string path = Path.Combine(output, $"series-{shards:D5}.parquet");
            await ParquetSeriesShardWriter.WriteAsync(path, rows, rowsPerRowGroup: 50, ct: ct).ConfigureAwait(false);
            progress?.Invoke(path);
        }
        return shards;
    }

    private static double Gaussian(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
