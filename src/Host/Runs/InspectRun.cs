using System.Text.Json.Serialization;
using Contrastive.Ingest;

namespace Contrastive.Host;

/// <summary>What `contrastive inspect` reports about a dataset.</summary>
public sealed record InspectResult
{
    [JsonPropertyName("format")] public string Format { get; init; } = "";
    [JsonPropertyName("shards")] public int Shards { get; init; }
    [JsonPropertyName("samples")] public long Samples { get; init; }
    [JsonPropertyName("labels")] public int Labels { get; init; }
    [JsonPropertyName("columns")] public IReadOnlyDictionary<string, string> Columns { get; init; } = new Dictionary<string, string>();
    [JsonPropertyName("class_histogram")] public SortedDictionary<string, long> ClassHistogram { get; init; } = [];
    [JsonPropertyName("empty_samples")] public long EmptySamples { get; init; }
}

/// <summary>`contrastive inspect`: one pass over the data, counting samples per label.</summary>
public static class InspectRun
{
    public static async Task<InspectResult> RunAsync(string uri, string? imageColumn, string? labelColumn, CancellationToken ct)
    {
        IImageDataset ds;
        try { ds = await ImageDataset.OpenAsync(uri, imageColumn, labelColumn, ct).ConfigureAwait(false); }
        catch (DataSourceException e) { throw new UsageException($"--data: {e.Message}", e); }

        var counts = new Dictionary<long, long>();
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
            Columns = ds.Columns, ClassHistogram = histogram, EmptySamples = empty,
        };
    }

    public static void Print(InspectResult r, TextWriter o)
    {
        o.WriteLine($"format   {r.Format}");
        o.WriteLine($"shards   {r.Shards}");
        o.WriteLine($"samples  {r.Samples}{(r.EmptySamples > 0 ? $" ({r.EmptySamples} without image bytes)" : "")}");
        o.WriteLine($"columns  {string.Join(", ", r.Columns.Select(c => $"{c.Key} = {c.Value}"))}");
        o.WriteLine($"labels   {(r.Labels == 0 ? "none" : r.Labels.ToString(System.Globalization.CultureInfo.InvariantCulture))}");
        foreach (var (name, n) in r.ClassHistogram) o.WriteLine($"  {name,-24} {n,10}");
    }
}
