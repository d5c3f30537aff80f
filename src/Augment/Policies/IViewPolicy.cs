namespace Contrastive.Augment;

/// <summary>Turns one decoded image into <see cref="ViewCount"/> square uint8 CHW views.</summary>
public interface IViewPolicy
{
    int ViewCount { get; }

    /// <summary>Side of every view in pixels.</summary>
    int Size { get; }

    /// <summary>
    /// Writes view <paramref name="view"/> of the sample into <paramref name="chw"/> (3 × Size × Size bytes).
    /// The result depends only on the image, (seed, epoch, sampleIndex, view) and the policy's options.
    /// </summary>
    void WriteView(PixelBuffer image, int view, long seed, int epoch, long sampleIndex, Span<byte> chw, ViewWorkspace workspace);
}
