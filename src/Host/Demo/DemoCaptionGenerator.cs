using Contrastive.Augment;
using Contrastive.Ingest;
using SkiaSharp;

namespace Contrastive.Host;

/// <summary>
/// The captioned demo data (<c>demo-data --kind captions</c>): one shape per image, with four independent attributes drawn
/// per image — shape (the label; 7 classes), colour (8 named hues), size (small or large) and position (a 3 × 3 grid) — on a
/// dull random background with faint clutter and pixel noise, at a random rotation. Each caption says all four in one of
/// several sentence templates with the attributes in different orders and words, and a caption is never just a class name:
/// zero-shot prompts such as "a photo of a star." never occur whole in training. Image i depends only on (seed, i).
/// Written as Hugging Face-schema Parquet (<c>image</c>, <c>label</c>, <c>text</c>).
/// </summary>
internal static class DemoCaptionGenerator
{
    /// <summary>Shape names by label.</summary>
    public static readonly string[] Shapes = ["circle", "square", "triangle", "star", "ring", "cross", "hexagon"];

    /// <summary>Colour names and their hues (degrees).</summary>
    public static readonly (string Name, double Hue)[] Colours =
        [("red", 0), ("orange", 30), ("yellow", 56), ("green", 120), ("cyan", 185), ("blue", 228), ("purple", 275), ("pink", 320)];

    /// <summary>Size words: index 0 small, 1 large.</summary>
    public static readonly string[][] SizeWords = [["small", "little", "tiny"], ["large", "big", "huge"]];

    /// <summary>Where the shape is, row-major over the 3 × 3 grid (index 4 is the centre).</summary>
    public static readonly string[] Positions =
    [
        "in the top left corner", "at the top", "in the top right corner",
        "on the left", "in the middle", "on the right",
        "in the bottom left corner", "at the bottom", "in the bottom right corner",
    ];

    /// <summary>Caption templates: {0} size, {1} colour, {2} shape, {3} position.</summary>
    private static readonly string[] Templates =
    [
        "a {0} {1} {2} {3}.",
        "a picture of a {0} {1} {2} {3}.",
        "{3} there is a {0} {1} {2}.",
        "this image shows a {1} {2}, {0}, {3}.",
        "a {2} coloured {1}, {0} and {3}.",
        "someone drew a {0} {2} in {1} {3}.",
        "{3}: one {0} {1} {2} on a plain background.",
        "the only thing here is a {1} {2}; it is {0} and sits {3}.",
    ];

    public const int Classes = 7;

    /// <summary>The attributes an image is drawn with and described by.</summary>
    public readonly record struct Attributes(int Shape, int Colour, int Size, int Position, int Template, int SizeWord);

    public static Attributes AttributesOf(long seed, long index)
    {
        var rng = new SampleRandom(seed, 0, index, 11);
        return new Attributes(
            Shape: (int)(index % Classes), Colour: rng.NextInt(Colours.Length), Size: rng.NextInt(2), Position: rng.NextInt(Positions.Length),
            Template: rng.NextInt(Templates.Length), SizeWord: rng.NextInt(SizeWords[0].Length));
    }

    /// <summary>The caption of image <paramref name="index"/>.</summary>
    public static string Caption(long seed, long index)
    {
        var a = AttributesOf(seed, index);
        string text = string.Format(System.Globalization.CultureInfo.InvariantCulture, Templates[a.Template],
            SizeWords[a.Size][a.SizeWord], Colours[a.Colour].Name, Shapes[a.Shape], Positions[a.Position]);
        text = Article.Replace(text, "$1n ");
        return char.ToUpperInvariant(text[0]) + text[1..];
    }

    // "a orange cross" → "an orange cross".
    private static readonly System.Text.RegularExpressions.Regex Article = new(@"\b([Aa]) (?=[aeiou])", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>Makes image <paramref name="index"/>: its label (the shape), caption and JPEG bytes. Default size 96 × 96.</summary>
    public static (long Label, string Caption, byte[] Jpeg) Make(long seed, long index, DemoImageGenerator.Look look = default)
    {
        var a = AttributesOf(seed, index);
        var rng = new SampleRandom(seed, 0, index, 12);
        int w = look.Width ?? 96, h = look.Height ?? 96, side = Math.Min(w, h);
        int quality = look.Quality == 0 ? 90 : look.Quality;

        using var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        {
            // A dull background (low saturation) so that the shape's colour is the one the caption names.
            canvas.Clear(DemoImageGenerator.Hsv(rng.Uniform(0, 360), rng.Uniform(0.0, 0.2), rng.Uniform(0.15, 0.5)));
            using (var clutter = new SKPaint { IsAntialias = true, StrokeWidth = 1.5f, Color = DemoImageGenerator.Hsv(0, 0, rng.Uniform(0.3, 0.7)).WithAlpha(70) })
            {
                for (int i = 0; i < 3; i++)
                    canvas.DrawLine((float)rng.Uniform(0, w), (float)rng.Uniform(0, h), (float)rng.Uniform(0, w), (float)rng.Uniform(0, h), clutter);
            }
            // Small: radius 9-13 % of the side; large: 19-22 %. Centres on a 3 × 3 grid (22 %, 50 %, 78 %) with a little jitter,
            // so that even a large shape in a corner stays inside the image.
            double radius = side * (a.Size == 0 ? rng.Uniform(0.09, 0.13) : rng.Uniform(0.19, 0.22));
            double jitter = side * 0.03;
            double cx = w * (0.22 + 0.28 * (a.Position % 3)) + rng.Uniform(-jitter, jitter);
            double cy = h * (0.22 + 0.28 * (a.Position / 3)) + rng.Uniform(-jitter, jitter);
            var colour = DemoImageGenerator.Hsv(Colours[a.Colour].Hue + rng.Uniform(-8, 8), rng.Uniform(0.75, 1.0), rng.Uniform(0.8, 1.0));
            canvas.Translate((float)cx, (float)cy);
            canvas.RotateDegrees((float)rng.Uniform(-20, 20));
            using var path = DemoImageGenerator.ShapePath((DemoImageGenerator.Shape)a.Shape, (float)radius);
            using var paint = new SKPaint { IsAntialias = true, Color = colour, Style = SKPaintStyle.Fill };
            canvas.DrawPath(path, paint);
        }
        DemoImageGenerator.AddNoise(bitmap, ref rng, 8);
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Jpeg, quality);
        return (a.Shape, Caption(seed, index), data.ToArray());
    }

    /// <summary>Writes <paramref name="count"/> captioned images as Parquet shards of <see cref="DemoDataset.RowsPerShard"/> rows; returns the shard count.</summary>
    public static async Task<int> WriteAsync(string output, int count, long seed, Action<string>? progress = null, CancellationToken ct = default,
        DemoImageGenerator.Look look = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        Directory.CreateDirectory(output);
        int shards = (count + DemoDataset.RowsPerShard - 1) / DemoDataset.RowsPerShard;
        for (int s = 0; s < shards; s++)
        {
            ct.ThrowIfCancellationRequested();
            int first = s * DemoDataset.RowsPerShard, n = Math.Min(DemoDataset.RowsPerShard, count - first);
            var rows = new ImageRow[n];
            Parallel.For(0, n, new ParallelOptions { CancellationToken = ct }, i =>
            {
                var (label, caption, jpeg) = Make(seed, first + i, look);
                rows[i] = new ImageRow(jpeg, $"captions/{Shapes[label]}/{first + i:D7}.jpg", label, caption);
            });
            string path = Path.Combine(output, $"shard-{s:D5}.parquet");
            await ParquetImageShardWriter.WriteAsync(path, rows, 100, ct).ConfigureAwait(false);
            progress?.Invoke(path);
        }
        return shards;
    }
}
