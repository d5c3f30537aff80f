namespace Contrastive.Augment;

/// <summary>
/// The default image decoder: <see cref="TurboJpegDecoder"/> when libturbojpeg is installed, else
/// <see cref="SkiaImageDecoder"/>. The environment variable <c>CONTRASTIVE_DECODER</c> forces one: <c>skia</c>,
/// <c>turbojpeg</c> (an error when the library is missing), <c>imagesharp</c> (<see cref="ImageSharpDecoder"/>, fully
/// managed, for hosts that forbid native libraries; never chosen otherwise) or <c>auto</c> (the default).
/// <c>CONTRASTIVE_MAX_PIXELS</c> sets the largest width × height every decoder accepts (default 40,000,000): larger
/// images are refused from their header, counted and skipped as bad samples.
/// </summary>
public static class ImageDecoders
{
    public const string EnvironmentVariable = "CONTRASTIVE_DECODER";

    public const string MaxPixelsVariable = "CONTRASTIVE_MAX_PIXELS";

    /// <summary>The pixel limit in effect: <c>CONTRASTIVE_MAX_PIXELS</c>, else 40,000,000.</summary>
    /// <exception cref="InvalidOperationException">The variable is not a positive whole number.</exception>
    public static long MaxPixels => ParseMaxPixels(Environment.GetEnvironmentVariable(MaxPixelsVariable));

    internal static long ParseMaxPixels(string? setting) =>
        string.IsNullOrWhiteSpace(setting) ? 40_000_000
        : long.TryParse(setting.Replace("_", "", StringComparison.Ordinal), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long v) && v > 0 ? v
        : throw new InvalidOperationException($"{MaxPixelsVariable}='{setting}' is not a positive whole number of pixels (e.g. 40000000).");

    /// <summary>The name of the decoder <see cref="CreateDefault"/> makes ("turbojpeg", "skia" or "imagesharp").</summary>
    /// <exception cref="InvalidOperationException"><c>CONTRASTIVE_DECODER</c> is not a known value, or asks for an absent library.</exception>
    public static string DefaultName
    {
        get
        {
            // skia and imagesharp do not look for libturbojpeg at all: a host that forbids native libraries loads none.
            string? setting = Environment.GetEnvironmentVariable(EnvironmentVariable);
            bool probe = setting?.Trim().ToLowerInvariant() is not ("skia" or "imagesharp");
            return Choose(setting, probe && TurboJpegDecoder.IsAvailable);
        }
    }

    /// <summary>A new decoder (one per worker thread), chosen as <see cref="DefaultName"/> says.</summary>
    public static IImageDecoder CreateDefault() => Create(DefaultName, MaxPixels);

    /// <summary>A new decoder by name (as <see cref="Choose"/> returns it).</summary>
    internal static IImageDecoder Create(string name, long maxPixels) => name switch
    {
        "turbojpeg" => new TurboJpegDecoder(maxPixels),
        "imagesharp" => new ImageSharpDecoder(maxPixels),
        _ => new SkiaImageDecoder(maxPixels),
    };

    /// <summary>Picks a decoder name from the setting (null or empty: auto) and whether libturbojpeg is present; errors name <paramref name="settingName"/>.</summary>
    internal static string Choose(string? setting, bool turboJpegAvailable, string settingName = EnvironmentVariable)
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
