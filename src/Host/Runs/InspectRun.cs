using System.Text.Json.Serialization;
using Contrastive.Ingest;

namespace Contrastive.Host;

/// <summary>`contrastive inspect`: one pass over the data, counting samples per label.</summary>
internal static class InspectRun
{
    /// <summary>
    /// Inspects image data, a folder of WAV files, or time-series Parquet when <paramref name="seriesColumns"/> are named or the Parquet
    /// shards have no image column but list columns of numbers.
    /// </summary>
    public static async Task<InspectResult> RunAsync(string uri, string? imageColumn, string? labelColumn, CancellationToken ct,
        IReadOnlyList<string>? seriesColumns = null, string? textColumn = null, ObjectStoreOptions? store = null)
    {
        if (seriesColumns is { Count: > 0 }) return await InspectSeriesAsync(uri, seriesColumns, labelColumn, ct).ConfigureAwait(false);
        IImageDataset ds;
        string local = uri.StartsWith("file://", StringComparison.OrdinalIgnoreCase) ? uri[7..] : uri;
        try { ds = await ImageDataset.OpenAsync(uri, imageColumn, labelColumn, textColumn, ct, store).ConfigureAwait(false); }
        catch (DataSourceException) when (Directory.Exists(local) && ImageFolderDataset.HasImages(local, ImageFolderDataset.AudioExtensions))
        {
            ds = ImageFolderDataset.OpenAudio(uri, local); // a folder of WAV files (the CPC path)
        }
        catch (DataSourceException e) { throw new UsageException($"--data: {e.Message}", e); }
        catch (ShardFormatException e) when (e.Column is null && imageColumn is null)
        {
            try { return await InspectSeriesAsync(uri, null, labelColumn, ct).ConfigureAwait(false); }
            catch (ShardFormatException) { throw e; } // neither images nor series: the image error says what was looked for
        }

        var counts = new Dictionary<long, long>();
        var runs = new BatchDiversity.RunCounter();
        long empty = 0, samples = 0;
        await foreach (var chunk in ds.ReadAsync(new ReadPlan(0, 0, Shuffle: false, HoldoutSplit.None), ct).ConfigureAwait(false))
        {
            using (chunk)
            {
                samples += chunk.Count;
                for (int i = 0; i < chunk.Count; i++)
                {
                    if (chunk.Images[i].IsEmpty) empty++;
                    long label = chunk.Labels[i];
                    if (label == Sample.NoLabel) continue;
                    runs.Add(label);
                    counts[label] = counts.GetValueOrDefault(label) + 1;
                }
            }
        }
        var histogram = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var (label, n) in counts.OrderBy(kv => kv.Key))
        {
            string name = ds.ClassNames is { } names && label >= 0 && label < names.Count ? names[(int)label] : label.ToString(System.Globalization.CultureInfo.InvariantCulture);
            histogram[name] = n;
        }
        return new InspectResult
        {
            Format = ds.Format, Shards = ds.ShardCount, Samples = samples, Labels = counts.Count,
            Columns = ds.Columns, ClassHistogram = histogram, EmptySamples = empty, LabelRuns = Runs(runs.Result()),
        };
    }

    private static async Task<InspectResult> InspectSeriesAsync(string uri, IReadOnlyList<string>? seriesColumns, string? labelColumn, CancellationToken ct)
    {
        var ds = await ParquetSeriesDataset.OpenAsync(uri, seriesColumns, labelColumn, ct).ConfigureAwait(false);
        var counts = new SortedDictionary<long, long>();
        long samples = 0, unusable = 0;
        int min = int.MaxValue, max = 0;
        await foreach (var chunk in ds.ReadAsync(new ReadPlan(0, 0, Shuffle: false, HoldoutSplit.None), ct).ConfigureAwait(false))
        {
            samples += chunk.Count;
            for (int i = 0; i < chunk.Count; i++)
            {
                if (chunk.Problems[i] is not null) { unusable++; continue; }
                min = Math.Min(min, chunk.Lengths[i]);
                max = Math.Max(max, chunk.Lengths[i]);
                if (chunk.Labels[i] != Sample.NoLabel) counts[chunk.Labels[i]] = counts.GetValueOrDefault(chunk.Labels[i]) + 1;
            }
        }
        var histogram = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var (label, n) in counts) histogram[label.ToString(System.Globalization.CultureInfo.InvariantCulture)] = n;
        return new InspectResult
        {
            Format = ds.Format, Shards = ds.ShardCount, Samples = samples, Labels = counts.Count, Columns = ds.Columns,
            ClassHistogram = histogram, EmptySamples = unusable, Series = new SeriesShape(ds.Channels, min == int.MaxValue ? 0 : min, max),
        };
    }

    private static LabelRuns? Runs(BatchDiversity.RunStats r) => r.Samples == 0 || double.IsInfinity(r.RandomMeanLength) ? null
        : new LabelRuns(Math.Round(r.MeanLength, 2), r.MaxLength, Math.Round(r.RandomMeanLength, 2), r.LooksSorted());

    public static void Print(InspectResult r, TextWriter o)
    {
        o.WriteLine($"format   {r.Format}");
        o.WriteLine($"shards   {r.Shards}");
        string what = r.Series is null ? "without image bytes" : "empty, ragged or with nulls";
        o.WriteLine($"samples  {r.Samples}{(r.EmptySamples > 0 ? $" ({r.EmptySamples} {what})" : "")}");
        if (r.Series is { } s) o.WriteLine($"series   {s.Channels} channel(s), length {s.MinLength} to {s.MaxLength}");
        o.WriteLine($"columns  {string.Join(", ", r.Columns.Select(c => $"{c.Key} = {c.Value}"))}");
        o.WriteLine($"labels   {(r.Labels == 0 ? "none" : r.Labels.ToString(System.Globalization.CultureInfo.InvariantCulture))}");
        foreach (var (name, n) in r.ClassHistogram) o.WriteLine($"  {name,-24} {n,10}");
        if (r.LabelRuns is { LooksClassSorted: true } runs)
            o.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"warning: the data is stored class by class: runs of one label average {runs.MeanLength:F0} samples (longest {runs.Longest}), a random order's {runs.RandomOrderMeanLength:F1}. ") +
                (r.Format == "imagefolder" || r.Format == "idx"
                    ? "Training reads a permutation of all its samples each epoch, so this costs nothing."
                    : "Training mixes samples across read units within the shuffle buffer (Data:ShuffleBufferSamples / ShuffleBufferMb); a buffer smaller than a class's run still gives batches of few classes. 'contrastive pack' writes shuffled shards."));
    }
}
