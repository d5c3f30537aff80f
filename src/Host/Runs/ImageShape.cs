using System.Globalization;
using Contrastive.Ingest;

namespace Contrastive.Host;

/// <summary>What a dataset's first images look like: their stored size (median) and whether they are all grayscale.</summary>
/// <param name="Probed">Images decoded to find out.</param>
internal sealed record ImageShape(int Width, int Height, bool Grayscale, int Probed)
{
    /// <summary>Images whose longer side is at most this are small (CIFAR, MNIST, Fashion-MNIST, SVHN: 28 to 32 px).</summary>
    public const int SmallSide = 64;

    /// <summary>Images read to find the shape.</summary>
    public const int DefaultProbe = 64;

    public bool Small => Math.Max(Width, Height) <= SmallSide;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Width}x{Height}{(Grayscale ? " grayscale" : "")} images ({(Small ? "small" : "photo-sized")}; median of {Probed})");

    /// <summary>
    /// Decodes up to <paramref name="samples"/> images from the start of the dataset (stored order); null when none decodes.
    /// Grayscale: every probed pixel has equal channels (within 2, for JPEG's rounding).
    /// </summary>
    public static async Task<ImageShape?> ProbeAsync(IImageDataset dataset, Func<IImageDecoder> decoders, CancellationToken ct, int samples = DefaultProbe)
    {
        var decoder = decoders();
        try
        {
            var widths = new List<int>();
            var heights = new List<int>();
            bool gray = true;
            var pixels = new PixelBuffer();
            await foreach (var chunk in dataset.ReadAsync(new ReadPlan(0, 0, Shuffle: false, HoldoutSplit.None), ct).ConfigureAwait(false))
            {
                using (chunk)
                {
                    for (int i = 0; i < chunk.Count && widths.Count < samples; i++)
                    {
                        if (chunk.Problems?[i] is not null) continue;
                        try { decoder.Decode(chunk.Images[i].Span, pixels); }
                        catch (ImageDecodeException) { continue; } // a bad sample says nothing about the others
                        widths.Add(pixels.SourceWidth);
                        heights.Add(pixels.SourceHeight);
                        gray = gray && IsGray(pixels.Pixels);
                    }
                }
                if (widths.Count >= samples) break;
            }
            if (widths.Count == 0) return null;
            widths.Sort();
            heights.Sort();
            return new ImageShape(widths[widths.Count / 2], heights[heights.Count / 2], gray, widths.Count);
        }
        finally
        {
            (decoder as IDisposable)?.Dispose();
        }
    }

    private static bool IsGray(ReadOnlySpan<byte> rgb)
    {
        for (int p = 0; p + 2 < rgb.Length; p += 3)
            if (Math.Abs(rgb[p] - rgb[p + 1]) > 2 || Math.Abs(rgb[p + 1] - rgb[p + 2]) > 2) return false;
        return true;
    }
}
