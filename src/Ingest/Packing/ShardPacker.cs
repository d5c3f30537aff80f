using System.Formats.Tar;
using System.Text;

namespace Contrastive.Ingest;

/// <summary>
/// Re-shards any <see cref="IImageDataset"/> into Hugging Face-schema Parquet or WebDataset tar shards, storing each
/// image's bytes as they are (no re-encoding). Rows are shuffled across the output by default (seeded, so the same
/// input and seed give the same shards), so shards of class-sorted data (an image folder's class folders) hold every
/// class; with <c>shuffle: false</c> they keep the stored order. Each shard is written under a temporary name and
/// renamed, so a reader never sees half a shard. Captions go with their images (a Parquet <c>text</c> column, <c>key.txt</c>
/// in tar shards); a sample whose caption was missing keeps an empty one, so it stays a bad sample when read back.
/// </summary>
public static class ShardPacker
{
    public enum Format { Parquet, WebDataset }

    /// <summary>What was written.</summary>
    public readonly record struct Result(long Samples, int Shards, long Bytes, long SkippedEmpty);

    /// <summary>Writes <paramref name="source"/>'s samples as shards of about <paramref name="shardSizeMb"/> MB of image bytes under <paramref name="output"/>.</summary>
    /// <param name="shuffle">
    /// Shuffle rows across the output (default): the source is read as a training epoch would be (epoch 0 of
    /// <paramref name="seed"/>): an image folder or IDX file in a permutation of all its samples, shards in a permutation
    /// of their read units mixed through a shuffle buffer of <paramref name="shuffleBufferBytes"/> (default the shard size,
    /// which the packer holds in memory anyway, and at least <see cref="ReadPlan.DefaultShuffleBufferBytes"/>). False: stored order.
    /// </param>
    /// <param name="seed">Seed of the shuffled order.</param>
    /// <param name="shuffleBufferBytes">Shuffle buffer for shard sources (0: the default above).</param>
    public static async Task<Result> PackAsync(IImageDataset source, string output, Format format, double shardSizeMb = 256, int rowsPerRowGroup = 100,
        Action<string>? progress = null, CancellationToken ct = default, bool shuffle = true, long seed = 0, long shuffleBufferBytes = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(shardSizeMb, 0);
        ArgumentOutOfRangeException.ThrowIfLessThan(rowsPerRowGroup, 1);
        Directory.CreateDirectory(output);
        long limit = Math.Max(1, (long)(shardSizeMb * 1024 * 1024));
        var rows = new List<ImageRow>();
        long pending = 0, samples = 0, bytes = 0, skipped = 0;
        int shards = 0;

        async Task FlushAsync()
        {
            if (rows.Count == 0) return;
            string path = Path.Combine(output, $"shard-{shards:D5}" + (format == Format.Parquet ? ".parquet" : ".tar"));
            if (format == Format.Parquet) await ParquetImageShardWriter.WriteAsync(path, rows, rowsPerRowGroup, ct).ConfigureAwait(false);
            else await WriteTarAsync(path, rows, ct).ConfigureAwait(false);
            progress?.Invoke($"wrote {path} ({rows.Count} samples, {pending / 1e6:F1} MB)");
            shards++;
            rows.Clear();
            pending = 0;
        }

        ArgumentOutOfRangeException.ThrowIfNegative(shuffleBufferBytes);
        long buffer = shuffleBufferBytes > 0 ? shuffleBufferBytes : Math.Max(limit, ReadPlan.DefaultShuffleBufferBytes);
        var plan = new ReadPlan(0, seed, Shuffle: shuffle, HoldoutSplit.None)
        {
            Captions = source.HasCaptions,
            ShuffleBufferBytes = buffer,
            ShuffleBufferSamples = (int)Math.Clamp(buffer / 1024, ReadPlan.DefaultShuffleBufferSamples, 1 << 20), // the bytes bind, unless images are under ~1 KB
        };
        if (shuffle) progress?.Invoke(ShuffleBuffer.Describe(source, plan).Text);
        await foreach (var chunk in source.ReadAsync(plan, ct).ConfigureAwait(false))
        {
            using (chunk)
            {
                for (int i = 0; i < chunk.Count; i++)
                {
                    var image = chunk.Images[i];
                    if (image.IsEmpty) { skipped++; continue; }
                    string key = chunk.Keys?[i] ?? chunk.Indices[i].ToString("D12", System.Globalization.CultureInfo.InvariantCulture);
                    string? caption = chunk.Captions is { } captions ? Encoding.UTF8.GetString(captions[i].Span) : null;
                    rows.Add(new ImageRow(image.ToArray(), key, chunk.Labels[i], caption));
                    pending += image.Length;
                    bytes += image.Length;
                    samples++;
                    if (pending >= limit) await FlushAsync().ConfigureAwait(false);
                }
            }
        }
        await FlushAsync().ConfigureAwait(false);
        return new Result(samples, shards, bytes, skipped);
    }

    private static async Task WriteTarAsync(string path, IReadOnlyList<ImageRow> rows, CancellationToken ct)
    {
        string tmp = path + ".tmp-" + Environment.ProcessId;
        await using (var file = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            await using (var tar = new TarWriter(file, TarEntryFormat.Pax, leaveOpen: true))
            {
                foreach (var row in rows)
                {
                    string key = MemberKey(row.Path);
                    await tar.WriteEntryAsync(Entry($"{key}.{ImageExtension(row.Bytes)}", row.Bytes), ct).ConfigureAwait(false);
                    if (row.Label != Sample.NoLabel)
                        await tar.WriteEntryAsync(Entry($"{key}.cls", Encoding.ASCII.GetBytes(row.Label.ToString(System.Globalization.CultureInfo.InvariantCulture))), ct).ConfigureAwait(false);
                    if (row.Caption is { } caption)
                        await tar.WriteEntryAsync(Entry($"{key}.{CaptionText.Extension}", Encoding.UTF8.GetBytes(caption)), ct).ConfigureAwait(false);
                }
            }
            file.Flush(flushToDisk: true);
        }
        File.Move(tmp, path, overwrite: true);
        // The sidecar index (NAME.tar.idx): a resumed shard seeks to its cursor's sample instead of reading from the start.
        await TarIndex.WriteAsync(path, ct).ConfigureAwait(false);
    }

    private static PaxTarEntry Entry(string name, byte[] data) =>
        new(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data, writable: false) };

    /// <summary>
    /// A WebDataset key from a stored path: the file name's extension dropped and any other '.' in it replaced (a '.'
    /// starts the extension in WebDataset), no leading '/', no '..' segments, so extracting the shard stays inside its folder.
    /// </summary>
    internal static string MemberKey(string stored)
    {
        var parts = stored.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries)
            .Where(p => p is not "." and not "..").ToList();
        if (parts.Count == 0) return "sample";
        string last = parts[^1];
        int dot = last.LastIndexOf('.');
        if (dot > 0) last = last[..dot];
        parts[^1] = last.Replace('.', '_');
        for (int i = 0; i < parts.Count - 1; i++) parts[i] = parts[i].Replace('.', '_');
        return string.Join('/', parts);
    }

    /// <summary>The image's extension from its magic bytes (the bytes are stored as they are, so the name must say what they are).</summary>
    internal static string ImageExtension(ReadOnlySpan<byte> b)
    {
        if (b.Length >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return "jpg";
        if (b.Length >= 8 && b[..8].SequenceEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A })) return "png";
        if (b.Length >= 12 && b[..4].SequenceEqual("RIFF"u8) && b.Slice(8, 4).SequenceEqual("WEBP"u8)) return "webp";
        return "jpg"; // unknown: keep the image slot; decoders sniff the content anyway
    }
}
