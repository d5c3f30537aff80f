using System.Runtime.CompilerServices;

namespace Contrastive.Ingest;

/// <summary>Reading a dataset epoch after epoch, as training and throughput runs do.</summary>
public static class DatasetEpochs
{
    /// <summary>
    /// Streams epoch <paramref name="firstEpoch"/>, then the next, without end (the consumer stops it), with the plan
    /// <paramref name="planFor"/> gives for each epoch. <paramref name="epochStarted"/> is told each epoch as its reading
    /// begins. An epoch that yields no sample is an error naming the data: reading on would spin forever.
    /// With <paramref name="from"/>, reading starts at that cursor (its epoch, not <paramref name="firstEpoch"/>).
    /// A <see cref="WeightedDataset"/> streams its mix (<see cref="WeightedDataset.ReadMixedAsync"/>; its sources start at
    /// their epoch 0 or at the cursor's positions).
    /// </summary>
    /// <exception cref="InvalidDataException"><paramref name="from"/> is a cursor of a weighted mix and the dataset is not one (or the reverse).</exception>
    public static async IAsyncEnumerable<SampleChunk> ReadEpochsAsync(this IImageDataset dataset, Func<int, ReadPlan> planFor, int firstEpoch = 0,
        Action<int>? epochStarted = null, ReadCursor? from = null, [EnumeratorCancellation] CancellationToken ct = default)
    {
        if (dataset is WeightedDataset mix)
        {
            await foreach (var chunk in mix.ReadMixedAsync(planFor, from, epochStarted, ct).ConfigureAwait(false)) yield return chunk;
            yield break;
        }
        if (from?.Mix is { } position)
            throw new InvalidDataException($"The position to resume from is in a mix of {position.Sources.Count} weighted sources; this run reads one ('{dataset.Uri}'). " +
                "Resume with the sources the run was started with, or start a new run.");
        for (int e = from?.Epoch ?? firstEpoch; ; e++)
        {
            epochStarted?.Invoke(e);
            var plan = planFor(e);
            bool resumed = from is { } f && f.Epoch == e;
            if (resumed) plan = plan with { From = from };
            long n = 0;
            await foreach (var chunk in dataset.ReadAsync(plan, ct).ConfigureAwait(false))
            {
                n += chunk.Count;
                yield return chunk;
            }
            if (n == 0 && !resumed && !plan.Resharded) // a resumed epoch may have nothing left, nor a rank's share of what a resharded one had
                throw new InvalidOperationException($"The data at '{dataset.Uri}' has no samples to read in epoch {e} " +
                    $"(held-out fraction {plan.Split.Fraction:P0}, rank {plan.Rank} of {plan.WorldSize}).");
        }
    }
}
