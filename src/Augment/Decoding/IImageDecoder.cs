namespace Contrastive.Augment;

/// <summary>Decodes encoded image bytes (JPEG, PNG, WebP, ...) into an RGB <see cref="PixelBuffer"/>. One instance per worker thread.</summary>
public interface IImageDecoder
{
    /// <summary>A short name for reports ("skia", "turbojpeg").</summary>
    string Name { get; }

    /// <summary>Decodes <paramref name="encoded"/> into <paramref name="output"/>.</summary>
    /// <exception cref="ImageDecodeException">The bytes are not a decodable image within the pixel limit.</exception>
    void Decode(ReadOnlySpan<byte> encoded, PixelBuffer output);
}
