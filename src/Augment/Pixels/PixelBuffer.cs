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

    public void Resize(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        int need = checked(width * height * 3);
        if (_data.Length < need) _data = GC.AllocateUninitializedArray<byte>(need);
        Width = width;
        Height = height;
    }
}
