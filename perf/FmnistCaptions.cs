using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using Contrastive.Ingest;
using SkiaSharp;

namespace Contrastive.Perf;

/// <summary>
/// Captioned Fashion-MNIST for issue 14's zero-shot benchmark: `fmnist-captions IDXDIR OUTDIR` reads the four IDX files
/// (train-/t10k-images-idx3-ubyte[.gz] and their labels) and writes OUTDIR/train and OUTDIR/test as Hugging Face-schema
/// Parquet shards (<c>image</c> = {bytes: 28×28 grayscale PNG, path}, <c>label</c>, <c>text</c>), plus OUTDIR/classes.txt
/// (one class name a line, in label order) and OUTDIR/templates.txt (the evaluation prompts joined with "|"). Each image's
/// caption is its class name in one of <see cref="TrainingTemplates"/>, chosen by (split, index) alone; the evaluation
/// prompts (<see cref="EvaluationTemplates"/>) are other sentences, so zero-shot prompts are never training captions:
/// <c>contrastive eval --zero-shot --classes-file OUTDIR/classes.txt --templates "$(cat OUTDIR/templates.txt)"</c>.
/// The test set is captioned the same way, for retrieval.
/// </summary>
public static class FmnistCaptions
{
    /// <summary>Class names by label (Fashion-MNIST's own names, lower case where English has it so).</summary>
    public static readonly string[] Classes = ["T-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"];

    /// <summary>Caption templates: {0} is the class with its article ("a coat", "an ankle boot"), {1} the bare class name.</summary>
    public static readonly string[] TrainingTemplates =
    [
        "a photo of {0}.",
        "a grayscale picture of {0}.",
        "a small image of the {1}, centred.",
        "someone is wearing {0}.",
        "{0} on a black background.",
        "a low-resolution shot of {0} from a clothing catalogue.",
        "here is {0}, seen from the front.",
        "product image: {1}.",
    ];

    /// <summary>Zero-shot prompts ({} is the class name), none of them a training template with any article.</summary>
    public static readonly string[] EvaluationTemplates =
    [
        "a close-up of the {}.",
        "a blurry photo of the {}.",
        "the {}, in black and white.",
        "a fashion item: the {}.",
        "a cropped image showing the {}.",
    ];

    /// <summary>Rows per Parquet row group (the read unit): as the demo data's.</summary>
    public const int RowsPerRowGroup = 100;

    /// <summary>A new shard starts before a shard's image bytes would pass this.</summary>
    public const long MaxShardBytes = 256L << 20;

    /// <summary>The class name with its indefinite article.</summary>
    public static string WithArticle(string name) => ("aeiou".Contains(char.ToLowerInvariant(name[0])) ? "an " : "a ") + name;

    /// <summary>The caption of image <paramref name="index"/> of a split (train 0, test 1) with label <paramref name="label"/>.</summary>
    public static string Caption(int split, long index, int label)
    {
        string name = Classes[label];
        return string.Format(CultureInfo.InvariantCulture, TrainingTemplates[TemplateOf(split, index)], WithArticle(name), name);
    }

    /// <summary>Which training template image <paramref name="index"/> of a split is captioned with.</summary>
    public static int TemplateOf(int split, long index) => new SampleRandom(1414, split, index, 0).NextInt(TrainingTemplates.Length);

    public static async Task RunAsync(string[] args)
    {
        if (args.Length != 2)
        {
            Console.Error.WriteLine("usage: dotnet run -c Release --project perf -- fmnist-captions IDXDIR OUTDIR   (IDXDIR: e.g. /usr/share/datasets/fashion-mnist)");
            Environment.Exit(2);
        }
        // The prompts must be new sentences: no training template, with whatever article, is an evaluation template.
        var seen = TrainingTemplates.SelectMany(t => new[] { "a {}", "an {}", "the {}" }.Select(a => string.Format(CultureInfo.InvariantCulture, t, a, "{}")));
        if (EvaluationTemplates.Intersect(seen).FirstOrDefault() is { } shared)
            throw new InvalidOperationException($"the evaluation template '{shared}' is also a training caption's");
        string idx = args[0], output = args[1];
        Directory.CreateDirectory(output);
        foreach (var (split, name, prefix) in new[] { (0, "train", "train"), (1, "test", "t10k") })
        {
            var (pixels, count, rows, cols) = ReadImages(FindIdx(idx, $"{prefix}-images-idx3-ubyte"));
            var labels = ReadLabels(FindIdx(idx, $"{prefix}-labels-idx1-ubyte"), count);
            string dir = Path.Combine(output, name);
            var (shards, bytes) = await WriteSplitAsync(dir, split, pixels, labels, count, rows, cols);
            Console.WriteLine($"{name}: {count} images ({rows}x{cols} grayscale PNG, {bytes / 1e6:F1} MB) in {shards} shard(s) under {Path.GetFullPath(dir)}");
            var uses = new int[TrainingTemplates.Length];
            for (int i = 0; i < count; i++) uses[TemplateOf(split, i)]++;
            Console.WriteLine($"  captions by template: {string.Join(", ", uses)}");
            for (int i = 0; i < 3; i++) Console.WriteLine($"  {name}/{i:D5}.png: \"{Caption(split, i, labels[i])}\"");
        }
        File.WriteAllLines(Path.Combine(output, "classes.txt"), Classes);
        File.WriteAllText(Path.Combine(output, "templates.txt"), string.Join("|", EvaluationTemplates));
        Console.WriteLine($"classes:   {Path.GetFullPath(Path.Combine(output, "classes.txt"))} ({Classes.Length}, label order)");
        Console.WriteLine($"templates: {Path.GetFullPath(Path.Combine(output, "templates.txt"))} ({EvaluationTemplates.Length} evaluation prompts; the captions use {TrainingTemplates.Length} others)");
    }

    private static async Task<(int Shards, long Bytes)> WriteSplitAsync(string dir, int split, byte[] pixels, byte[] labels, int count, int rows, int cols)
    {
        Directory.CreateDirectory(dir);
        string name = split == 0 ? "train" : "test";
        // Encode every image (in parallel: PNG encoding is the slow part), then cut shards at the byte bound.
        var pngs = new byte[count][];
        int size = rows * cols;
        Parallel.For(0, count, i => pngs[i] = Png(pixels.AsSpan(i * size, size), cols, rows));
        int shards = 0;
        long total = 0;
        var shard = new List<ImageRow>();
        long shardBytes = 0;
        for (int i = 0; i <= count; i++)
        {
            if (i == count || (shard.Count > 0 && shardBytes + pngs[i].Length > MaxShardBytes))
            {
                string path = Path.Combine(dir, $"{name}-{shards:D5}.parquet");
                await ParquetImageShardWriter.WriteAsync(path, shard, RowsPerRowGroup);
                shards++;
                shard.Clear();
                shardBytes = 0;
                if (i == count) break;
            }
            shard.Add(new ImageRow(pngs[i], $"{name}/{i:D5}.png", labels[i], Caption(split, i, labels[i])));
            shardBytes += pngs[i].Length;
            total += pngs[i].Length;
        }
        return (shards, total);
    }

    /// <summary>One grayscale image as an 8-bit grayscale PNG.</summary>
    private static byte[] Png(ReadOnlySpan<byte> gray, int width, int height)
    {
        using var image = SKImage.FromPixelCopy(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque), gray, width);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static string FindIdx(string dir, string stem)
    {
        foreach (var candidate in new[] { stem + ".gz", stem })
        {
            string path = Path.Combine(dir, candidate);
            if (File.Exists(path)) return path;
        }
        throw new FileNotFoundException($"'{dir}' has no {stem}[.gz] (Fashion-MNIST: apt-get install dataset-fashion-mnist)");
    }

    private static byte[] ReadAll(string path)
    {
        using var file = File.OpenRead(path);
        using Stream s = path.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }

    private static (byte[] Pixels, int Count, int Rows, int Cols) ReadImages(string path)
    {
        var b = ReadAll(path);
        if (b.Length < 16 || BinaryPrimitives.ReadInt32BigEndian(b) != 0x803) throw new InvalidDataException($"'{path}' is not an IDX ubyte image file");
        int n = BinaryPrimitives.ReadInt32BigEndian(b.AsSpan(4)), rows = BinaryPrimitives.ReadInt32BigEndian(b.AsSpan(8)), cols = BinaryPrimitives.ReadInt32BigEndian(b.AsSpan(12));
        if (b.Length < 16 + (long)n * rows * cols) throw new InvalidDataException($"'{path}' is truncated");
        return (b.AsSpan(16, n * rows * cols).ToArray(), n, rows, cols);
    }

    private static byte[] ReadLabels(string path, int count)
    {
        var b = ReadAll(path);
        if (b.Length < 8 || BinaryPrimitives.ReadInt32BigEndian(b) != 0x801) throw new InvalidDataException($"'{path}' is not an IDX label file");
        int n = BinaryPrimitives.ReadInt32BigEndian(b.AsSpan(4));
        if (n < count || b.Length < 8 + n) throw new InvalidDataException($"'{path}' has {n} labels for {count} images");
        var labels = b.AsSpan(8, count).ToArray();
        if (labels.Any(l => l >= Classes.Length)) throw new InvalidDataException($"'{path}' has a label above {Classes.Length - 1}");
        return labels;
    }
}
