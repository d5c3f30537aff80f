namespace Contrastive.Augment;

/// <summary>
/// The default image decoder: <see cref="TurboJpegDecoder"/> when libturbojpeg is installed, else
/// <see cref="SkiaImageDecoder"/>. A configured choice (<see cref="DecoderOptions"/>: skia, turbojpeg, imagesharp or auto)
/// goes through <see cref="DecoderOptions.Factory"/>; this class reads no environment.
/// </summary>
public static class ImageDecoders
{
    /// <summary>The pixel limit a decoder has unless configured (<see cref="DecoderOptions.MaxPixels"/>): 40,000,000.</summary>
    public const long DefaultMaxPixels = 40_000_000;

    /// <summary>The name of the decoder <see cref="CreateDefault"/> makes ("turbojpeg" or "skia").</summary>
    public static string DefaultName => Choose(null, TurboJpegDecoder.IsAvailable);

    /// <summary>A new decoder (one per worker thread): TurboJPEG when installed, else Skia, with the default pixel limit.</summary>
    public static IImageDecoder CreateDefault() => Create(DefaultName, DefaultMaxPixels);

    /// <summary>A new decoder by name (as <see cref="Choose"/> returns it).</summary>
    internal static IImageDecoder Create(string name, long maxPixels) => name switch
    {
        "turbojpeg" => new TurboJpegDecoder(maxPixels),
        "imagesharp" => new ImageSharpDecoder(maxPixels),
        _ => new SkiaImageDecoder(maxPixels),
    };

    /// <summary>Picks a decoder name from the setting (null or empty: auto) and whether libturbojpeg is present; errors name <paramref name="settingName"/>.</summary>
    internal static string Choose(string? setting, bool turboJpegAvailable, string settingName = "Decoder:Name")
    {
        switch (setting?.Trim().ToLowerInvariant())
        {
            case null or "" or "auto":
                return turboJpegAvailable ? "turbojpeg" : "skia";
            case "skia":
                return "skia";
            case "imagesharp":
                return "imagesharp";
            case "turbojpeg":
                return turboJpegAvailable
                    ? "turbojpeg"
                    : throw new InvalidOperationException(
                        $"{settingName}=turbojpeg, but libturbojpeg.so.0 was not found: install it (Debian/Ubuntu: " +
                        $"apt-get install libturbojpeg0) or choose auto, skia or imagesharp.");
            default:
                throw new InvalidOperationException($"{settingName}='{setting}' is not a decoder: use skia, turbojpeg, imagesharp or auto.");
        }
    }
}
