using Contrastive.Ingest;

namespace Contrastive.Host;

/// <summary>Writes the demo dataset as Hugging Face-schema Parquet shards (1,000 rows a shard, 100 a row group).</summary>
internal static class DemoDataset
{
    public const int RowsPerShard = 1000;

    public static async Task<int> WriteAsync(string output, int count, long seed, Action<string>? progress = null, CancellationToken ct = default,
        DemoImageGenerator.Look look = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        Directory.CreateDirectory(output);
        int shards = (count + RowsPerShard - 1) / RowsPerShard;
        for (int s = 0; s < shards; s++)
        {
            ct.ThrowIfCancellationRequested();
            int first = s * RowsPerShard, n = Math.Min(RowsPerShard, count - first);
            var rows = new ImageRow[n];
            Parallel.For(0, n, new ParallelOptions { CancellationToken = ct }, i =>
            {
                var (label, jpeg) = DemoImageGenerator.Make(seed, first + i, look);
                rows[i] = new ImageRow(jpeg, $"demo/{label}/{first + i:D7}.jpg", label);
            });
            string path = Path.Combine(output, $"shard-{s:D5}.parquet");
            await ParquetImageShardWriter.WriteAsync(path, rows, 100, ct).ConfigureAwait(false);
            progress?.Invoke(path);
        }
        return shards;
    }

    /// <summary>The data URI to use: the configured one, or the demo dataset, written on first use.</summary>
    public static async Task<string> EnsureAsync(DataOptions data, Action<string> log, CancellationToken ct)
    {
        if (!string.IsNullOrWhiteSpace(data.Uri)) return data.Uri;
        string dir = data.DemoPath;
        if (!Exists(dir))
        {
            log($"No --data given: writing the demo dataset ({data.DemoCount} images) to {Path.GetFullPath(dir)}");
            await WriteAsync(dir, data.DemoCount, 0, null, ct).ConfigureAwait(false);
            MarkComplete(dir, data.DemoCount, 0);
        }
        return dir;
    }

    /// <summary>The captioned data to use: the URI given, else the captioned demo set (<see cref="DemoCaptionGenerator"/>), written on first use.</summary>
    public static async Task<string> EnsureCaptionsAsync(DataOptions data, Action<string> log, CancellationToken ct)
    {
        if (!string.IsNullOrWhiteSpace(data.Uri)) return data.Uri;
        string dir = data.DemoCaptionsPath;
        if (!Exists(dir))
        {
            log($"No --data given: writing the captioned demo dataset ({data.DemoCount} images of {DemoCaptionGenerator.Classes} shapes, each described in a sentence) to {Path.GetFullPath(dir)}");
            await DemoCaptionGenerator.WriteAsync(dir, data.DemoCount, 0, null, ct).ConfigureAwait(false);
            MarkComplete(dir, data.DemoCount, 0);
        }
        return dir;
    }

    /// <summary>The demo images as an ImageFolder tree (root/class-K/NNNNNNN.jpg): the layout torchvision's ImageFolder reads, stored class by class.</summary>
    public static void WriteFolder(string output, int count, long seed, DemoImageGenerator.Look look, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        Parallel.For(0, count, new ParallelOptions { CancellationToken = ct }, i =>
        {
            var (label, jpeg) = DemoImageGenerator.Make(seed, i, look);
            string dir = Path.Combine(output, $"class-{label}");
            Directory.CreateDirectory(dir);
            File.WriteAllBytes(Path.Combine(dir, $"{i:D7}.jpg"), jpeg);
        });
    }

    /// <summary>The series data to use: the URI given, else the demo series (2,400 series of 16,000 samples, 6 classes), written on first use.</summary>
    public static async Task<string> EnsureSeriesAsync(DataOptions data, Action<string> log, CancellationToken ct)
    {
        if (!string.IsNullOrWhiteSpace(data.Uri)) return data.Uri;
        string dir = data.DemoSeriesPath;
        if (!Exists(dir))
        {
            log($"No --data given: writing the demo series (2400 series of 16000 samples, {DemoSeriesGenerator.Classes} classes) to {Path.GetFullPath(dir)}");
            await DemoSeriesGenerator.WriteAsync(dir, 2400, 16000, 0, null, ct).ConfigureAwait(false);
            MarkComplete(dir, 2400, 0);
        }
        return dir;
    }

    /// <summary>True when <paramref name="dir"/> already holds a complete demo dataset (marker written last).</summary>
    public static bool Exists(string dir) => File.Exists(Path.Combine(dir, ".complete"));

    public static void MarkComplete(string dir, int count, long seed) =>
        File.WriteAllText(Path.Combine(dir, ".complete"), $"count={count} seed={seed}\n");
}
