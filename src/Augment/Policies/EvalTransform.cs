namespace Contrastive.Augment;

/// <summary>
/// The evaluation view: resize the shorter side to Size / CropFraction, then centre-crop Size × Size
/// (torchvision's Resize + CenterCrop); no randomness, one view.
/// </summary>
public sealed class EvalTransform(int size, double cropFraction = 0.875) : IViewPolicy
{
    public int ViewCount => 1;

    public int Size { get; } = size;

    public void WriteView(PixelBuffer image, int view, long seed, int epoch, long sampleIndex, Span<byte> chw, ViewWorkspace ws)
    {
        var work = ws.WorkFor(Size);
        var crop = image.ToPixels(CropParameters.Center(image.SourceWidth, image.SourceHeight, cropFraction));
        PlanarOps.CropResize(image.Pixels, image.Width, image.Height, crop.X, crop.Y, crop.Width, crop.Height, work, Size, Size, ws.Planar);
        PlanarOps.ToBytes(work, chw);
    }
}
