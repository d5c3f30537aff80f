using SkiaSharp;

namespace Contrastive.Augment;

/// <summary>
/// Decoder on SkiaSharp with its bundled natives (no system libraries): JPEG (grayscale and CMYK too), PNG
/// (alpha dropped), WebP, GIF, BMP. Refuses images above <see cref="MaxPixels"/> before allocating.
/// </summary>
public sealed class SkiaImageDecoder : IImageDecoder
{
    private byte[] _rgba = [];

    public SkiaImageDecoder(long maxPixels = 40_000_000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPixels, 1);
        MaxPixels = maxPixels;
    }

    public string Name => "skia";

    /// <summary>Largest width × height accepted (default 40 megapixels).</summary>
    public long MaxPixels { get; }

    public unsafe void Decode(ReadOnlySpan<byte> encoded, PixelBuffer output)
    {
        if (encoded.IsEmpty) throw new ImageDecodeException("the image has zero bytes");
        SKData data;
        fixed (byte* p = encoded) data = SKData.CreateCopy((IntPtr)p, encoded.Length);
        using (data)
        using (var codec = SKCodec.Create(data))
        {
            if (codec is null) throw new ImageDecodeException($"not a recognised image format ({encoded.Length} bytes)");
            var info = codec.Info;
            if (info.Width <= 0 || info.Height <= 0) throw new ImageDecodeException($"invalid image size {info.Width}x{info.Height}");
            if ((long)info.Width * info.Height > MaxPixels)
                throw new ImageDecodeException($"image is {info.Width}x{info.Height}, above the limit of {MaxPixels} pixels");

            int w = info.Width, h = info.Height;
            int need = w * h * 4;
            if (_rgba.Length < need) _rgba = GC.AllocateUninitializedArray<byte>(need);
            var target = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul);
            SKCodecResult result;
            fixed (byte* dst = _rgba) result = codec.GetPixels(target, (IntPtr)dst);
            if (result != SKCodecResult.Success)
                throw new ImageDecodeException($"decoding failed: {result}");

            output.Resize(w, h);
            var rgb = output.Pixels;
            var rgba = _rgba.AsSpan(0, need);
            for (int i = 0, j = 0; j < rgb.Length; i += 4, j += 3)
            {
                rgb[j] = rgba[i];
                rgb[j + 1] = rgba[i + 1];
                rgb[j + 2] = rgba[i + 2];
            }
        }
    }
}
