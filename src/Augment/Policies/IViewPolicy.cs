namespace Contrastive.Augment;

/// <summary>Turns one decoded image into <see cref="ViewCount"/> square uint8 CHW views.</summary>
public interface IViewPolicy
{
    int ViewCount { get; }

    /// <summary>Side of the (global) views in pixels.</summary>
    int Size { get; }

    /// <summary>Side of view <paramref name="view"/>: <see cref="Size"/>, or smaller for a multi-crop policy's local views.</summary>
    int ViewSize(int view) => Size;

    /// <summary>
    /// Writes view <paramref name="view"/> of the sample into <paramref name="chw"/> (3 × ViewSize(view)² bytes).
    /// The result depends only on the image, (seed, epoch, sampleIndex, view) and the policy's options.
    /// </summary>
    void WriteView(PixelBuffer image, int view, long seed, int epoch, long sampleIndex, Span<byte> chw, ViewWorkspace workspace);

    /// <summary>
    /// The smallest decoded size from which every view of the sample can be made without enlarging a crop that the full
    /// image would have reduced, for an image stored at <paramref name="width"/> × <paramref name="height"/>; a decoder
    /// that can reduce cheaply (TurboJPEG's DCT scaling) decodes no larger than it needs. Default: the full size.
    /// </summary>
    (int MinWidth, int MinHeight) DecodeSize(int width, int height, long seed, int epoch, long sampleIndex) => (width, height);
}
