namespace Contrastive.Ingest;

/// <summary>
/// How many classes a batch holds: what uniform sampling gives (to compare a read order against), and whether a
/// sequence of labels (a shard's stored order, a read order) looks sorted by class.
/// </summary>
public static class BatchDiversity
{
    /// <summary>
    /// The expected number of distinct labels in a batch of <paramref name="batchSize"/> samples drawn uniformly without
    /// replacement from a dataset with <paramref name="counts"/>[c] samples of class c:
    /// E = Σ_c [1 − C(N − n_c, B) / C(N, B)], each ratio computed as the product Π_{i&lt;B} (N − n_c − i) / (N − i) in log
    /// space (no overflow for any N). A batch larger than the dataset takes all of it.
    /// </summary>
    public static double ExpectedDistinct(IReadOnlyList<long> counts, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(counts);
        ArgumentOutOfRangeException.ThrowIfNegative(batchSize);
        long total = 0;
        foreach (long n in counts)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(n, nameof(counts));
            total += n;
        }
        long b = Math.Min(batchSize, total);
        double expected = 0;
        foreach (long n in counts)
        {
            if (n == 0 || b == 0) continue;
            if (total - n < b) { expected += 1; continue; } // every batch holds this class
            double log = 0; // log of C(N − n, B) / C(N, B)
            for (long i = 0; i < b; i++)
            {
                log += Math.Log((double)(total - n - i) / (total - i));
                if (log < -745) break; // exp underflows to 0: the class is all but certainly in the batch
            }
            expected += 1 - Math.Exp(log);
        }
        return expected;
    }

    /// <summary>Runs of one label in a sequence, and what a random order of the same labels gives.</summary>
    /// <param name="Samples">Labelled samples counted (unlabelled ones are left out).</param>
    /// <param name="Runs">Maximal runs of one label.</param>
    /// <param name="MeanLength">Samples per run.</param>
    /// <param name="MaxLength">The longest run.</param>
    /// <param name="RandomMeanLength">The mean run length of a random order of the same labels, 1 / (1 − Σ p_c²) (infinite for one class).</param>
    public readonly record struct RunStats(long Samples, long Runs, double MeanLength, long MaxLength, double RandomMeanLength)
    {
        /// <summary>Mean run length over a random order's: about 1 for shuffled data, the class size for data sorted by class.</summary>
        public double Ratio => Runs == 0 || double.IsInfinity(RandomMeanLength) ? 1 : MeanLength / RandomMeanLength;

        /// <summary>Whether the runs are <paramref name="factor"/> times longer than a random order's (default 4): the data looks sorted by class.</summary>
        public bool LooksSorted(double factor = 4) => Ratio >= factor;
    }

    /// <summary>The run statistics of <paramref name="labels"/> (in order; <see cref="Sample.NoLabel"/> left out).</summary>
    public static RunStats Runs(IEnumerable<long> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var counter = new RunCounter();
        foreach (long label in labels) counter.Add(label);
        return counter.Result();
    }

    /// <summary>Counts runs of one label as labels arrive (a pass over a dataset too large to hold its labels).</summary>
    public sealed class RunCounter
    {
        private readonly Dictionary<long, long> _counts = [];
        private long _samples, _runs, _run, _longest, _previous;

        public void Add(long label)
        {
            if (label == Sample.NoLabel) return;
            _counts[label] = _counts.GetValueOrDefault(label) + 1;
            if (_samples > 0 && label == _previous) _run++;
            else
            {
                _runs++;
                _run = 1;
            }
            _longest = Math.Max(_longest, _run);
            _previous = label;
            _samples++;
        }

        public RunStats Result()
        {
            if (_samples == 0) return new RunStats(0, 0, 0, 0, 0);
            double sumSquares = 0;
            foreach (long n in _counts.Values)
            {
                double p = (double)n / _samples;
                sumSquares += p * p;
            }
            double random = sumSquares >= 1 ? double.PositiveInfinity : 1 / (1 - sumSquares);
            return new RunStats(_samples, _runs, (double)_samples / _runs, _longest, random);
        }
    }
}
