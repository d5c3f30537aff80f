namespace Contrastive.Augment;

/// <summary>Decodes encoded image bytes (JPEG, PNG, WebP, ...) into an RGB <see cref="PixelBuffer"/>. One instance per worker thread.</summary>
public interface IImageDecoder
{
    /// <summary>A short name for reports ("skia", "turbojpeg").</summary>
    string Name { get; }

    /// <summary>Decodes <paramref name="encoded"/> into <paramref name="output"/>.</summary>
    /// <exception cref="ImageDecodeException">The bytes are not a decodable image within the pixel limit.</exception>
    void Decode(ReadOnlySpan<byte> encoded, PixelBuffer output);

    /// <summary>
    /// Decodes, reduced where the decoder can do it cheaply (TurboJPEG: 1/2, 1/4 or 1/8 in the DCT domain) to the smallest
    /// size that is still at least what <paramref name="sizing"/> asks for, given the stored size; in full otherwise.
    /// <see cref="PixelBuffer.SourceWidth"/> and <see cref="PixelBuffer.SourceHeight"/> keep the stored size.
    /// </summary>
    void Decode(ReadOnlySpan<byte> encoded, PixelBuffer output, IDecodeSizing sizing) => Decode(encoded, output);
}
