using System.ComponentModel.DataAnnotations;

namespace Contrastive.Augment;

/// <summary>
/// Which image decoder the workers use and how large an image they accept. Configuration section "Decoder" (the host also
/// reads the older environment variables CONTRASTIVE_DECODER and CONTRASTIVE_MAX_PIXELS where the section does not say).
/// </summary>
public sealed class DecoderOptions
{
    /// <summary>
    /// "auto" (default: TurboJPEG when libturbojpeg is installed, else Skia), "turbojpeg" (an error without the library),
    /// "skia", or "imagesharp" (fully managed, for hosts that forbid native libraries; slower, never chosen by auto).
    /// </summary>
    [Required, RegularExpression("^(?i)(auto|turbojpeg|skia|imagesharp)$", ErrorMessage = "must be auto, turbojpeg, skia or imagesharp")]
    public string Name { get; set; } = "auto";

    /// <summary>Largest width × height a decoder accepts; larger images are refused from their header and counted as bad samples. Default 40,000,000.</summary>
    [Range(1, long.MaxValue)]
    public long MaxPixels { get; set; } = ImageDecoders.DefaultMaxPixels;

    /// <summary>The decoder's name as <see cref="ImageDecoders.Choose"/> resolves it on this machine.</summary>
    /// <exception cref="InvalidOperationException">turbojpeg asked for and the library is missing.</exception>
    public string Resolve()
    {
        string setting = Name.Trim().ToLowerInvariant();
        bool probe = setting is not ("skia" or "imagesharp"); // a host that forbids native libraries loads none
        return ImageDecoders.Choose(setting, probe && TurboJpegDecoder.IsAvailable, "Decoder:Name");
    }

    /// <summary>A factory of decoders as configured (one per worker), for <c>ImageSampleProcessor</c>.</summary>
    public Func<IImageDecoder> Factory()
    {
        string name = Resolve();
        long limit = MaxPixels;
        return () => ImageDecoders.Create(name, limit);
    }
}
