using Contrastive.Augment;

namespace Contrastive.Batching;

/// <summary>
/// What the pipeline's workers do with each sample's bytes: images are decoded once and cut into views; series are
/// read as floats and cut into windows. Each worker has its own <see cref="ISampleWorker"/> (scratch memory).
/// </summary>
public interface ISampleProcessor
{
    /// <summary>The decoder or reader, for logs ("skia", "series").</summary>
    string Name { get; }

    int ViewCount { get; }

    /// <summary>Bytes of one view in a batch slot (of view 0 when views differ in size).</summary>
    int ViewBytes { get; }

    /// <summary>Sides of the image views when they differ (multi-crop: global then local views); null when all are <see cref="Size"/>.</summary>
    int[]? ViewSizes => null;

    /// <summary>Bytes of view <paramref name="view"/> of one sample.</summary>
    int ViewBytesOf(int view) => ViewSizes is { } s ? 3 * s[view] * s[view] : ViewBytes;

    /// <summary>Bytes of all views of one sample.</summary>
    int SampleBytes
    {
        get
        {
            int total = 0;
            for (int v = 0; v < ViewCount; v++) total += ViewBytesOf(v);
            return total;
        }
    }

    /// <summary>Image side in pixels (0 for non-image views).</summary>
    int Size { get; }

    /// <summary>Views are float32 values (kept in <see cref="Batch.Values"/>), not bytes.</summary>
    bool FloatViews => false;

    ISampleWorker CreateWorker();
}
