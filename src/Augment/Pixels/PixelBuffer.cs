namespace Contrastive.Augment;

/// <summary>
/// A reusable RGB image, 8 bits a channel, rows packed (HWC, stride = 3 × width). It grows to the largest
/// image it has held and is then reused without allocating.
/// </summary>
public sealed class PixelBuffer
{
    private byte[] _data = [];

    public int Width { get; private set; }

    public int Height { get; private set; }

    /// <summary>The pixels, 3 × Width × Height bytes.</summary>
    public Span<byte> Pixels => _data.AsSpan(0, Width * Height * 3);

    /// <summary>
    /// The size of the image as stored: the same as <see cref="Width"/> × <see cref="Height"/> unless it was decoded
    /// reduced. Random crops are drawn in these coordinates, so they do not depend on the decoder.
    /// </summary>
    public int SourceWidth { get; private set; }

    public int SourceHeight { get; private set; }

    /// <summary>True when the pixels are the image reduced (<see cref="Width"/> below <see cref="SourceWidth"/>, or height).</summary>
    public bool IsReduced => Width != SourceWidth || Height != SourceHeight;

    public void Resize(int width, int height) => Resize(width, height, width, height);

    /// <summary>Sizes the buffer for an image stored at <paramref name="sourceWidth"/> × <paramref name="sourceHeight"/> and decoded reduced.</summary>
    public void Resize(int width, int height, int sourceWidth, int sourceHeight)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(sourceWidth, width);
        ArgumentOutOfRangeException.ThrowIfLessThan(sourceHeight, height);
        int need = checked(width * height * 3);
        if (_data.Length < need) _data = GC.AllocateUninitializedArray<byte>(need);
        Width = width;
        Height = height;
        SourceWidth = sourceWidth;
        SourceHeight = sourceHeight;
    }

    /// <summary>
    /// A crop in source coordinates (<see cref="SourceWidth"/> × <see cref="SourceHeight"/>) in the coordinates of the
    /// pixels held: scaled, edges rounded to the nearest pixel, at least one pixel, inside the image.
    /// </summary>
    public CropRect ToPixels(CropRect crop)
    {
        if (!IsReduced) return crop;
        double sx = (double)Width / SourceWidth, sy = (double)Height / SourceHeight;
        int x0 = Math.Clamp((int)Math.Round(crop.X * sx), 0, Width - 1);
        int y0 = Math.Clamp((int)Math.Round(crop.Y * sy), 0, Height - 1);
        int x1 = Math.Clamp((int)Math.Round((crop.X + crop.Width) * sx), x0 + 1, Width);
        int y1 = Math.Clamp((int)Math.Round((crop.Y + crop.Height) * sy), y0 + 1, Height);
        return new CropRect(x0, y0, x1 - x0, y1 - y0);
    }
}
