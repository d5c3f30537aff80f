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
}
