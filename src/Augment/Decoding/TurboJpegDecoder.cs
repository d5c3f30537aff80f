using System.Runtime.InteropServices;
using static Contrastive.Augment.TurboJpegNative;

namespace Contrastive.Augment;

/// <summary>
/// JPEG decoder on the system's libjpeg-turbo through its TurboJPEG C API (libturbojpeg.so.0, 2.0 or later; Debian and
/// Ubuntu package libturbojpeg0). Check <see cref="IsAvailable"/> before constructing one; <see cref="ImageDecoders"/>
/// picks it automatically when it is. One instance per worker thread: it owns one TurboJPEG handle, freed by
/// <see cref="Dispose"/> or, failing that, by the finaliser.
/// </summary>
/// <remarks>
/// <para>Decodes straight into <see cref="PixelBuffer.Pixels"/> as packed RGB with libjpeg-turbo's defaults for
/// decompression (accurate integer IDCT, smooth chroma upsampling); it allocates nothing per image in steady state.
/// Grayscale JPEGs come out as RGB. <see cref="Decode(ReadOnlySpan{byte}, PixelBuffer, int, int)"/> decodes scaled
/// down by 1/2, 1/4 or 1/8 in the DCT domain, which is much cheaper than decoding in full and resizing.</para>
/// <para>Handed to an internal <see cref="SkiaImageDecoder"/> (same pixel limit; <see cref="Name"/> stays "turbojpeg"):
/// bytes that are not JPEG (not starting with FF D8: PNG, WebP, GIF, BMP), and CMYK/YCCK JPEGs, which TurboJPEG can only
/// decode to CMYK.</para>
/// <para>Bad data: images above <see cref="MaxPixels"/> are refused from the header before anything is decoded. A
/// fatal libjpeg error is an <see cref="ImageDecodeException"/> carrying TurboJPEG's message. libjpeg also raises
/// warnings, after which it goes on and completes the image; only the warnings that report corrupt entropy-coded data
/// it recovered from ("Corrupt JPEG data: ...", e.g. extraneous bytes before a marker, a bad Huffman code) are
/// accepted, as Pillow and Skia accept them. Every other warning is refused, in particular "Premature end of JPEG
/// file": a truncated file, whose missing rows libjpeg fills with grey (Skia reports such a file as incomplete and
/// Pillow 9.4 raises OSError "Truncated File Read"). The judgement is made on the message because TurboJPEG 2.x reports a
/// fatal error that follows a warning with the warning's code (tjGetErrorCode only looks at a "warning seen" flag),
/// so the code alone does not prove that the image was completed; a fatal message replaces the warning's text, and
/// no fatal libjpeg message starts with "Corrupt JPEG data". libjpeg keeps only the first warning's text, so an image
/// whose first warning is a recovered corruption and which is also truncated further on is accepted. Progressive JPEGs
/// with more than 500 scans are refused (TJFLAG_LIMITSCANS), as a tiny file could otherwise take minutes.</para>
/// <para>A decode depends on the bytes alone, never on the images the handle decoded before: a stream without its own
/// quantisation or Huffman tables (Motion-JPEG frames have no DHT), which libjpeg would decode with the previous
/// image's, is decoded on a fresh handle, and so is everything after a header that failed fatally (TurboJPEG 2.1
/// leaves the handle mid-header then).</para>
/// </remarks>
public sealed class TurboJpegDecoder : IImageDecoder, IDisposable
{
    // Power-of-two scale denominators the library offers (1/8, 1/4, 1/2), smallest output first. These are the IDCT
    // sizes libjpeg-turbo has SIMD code for; its other factors (3/8, 5/8, ...) are left out.
    private static readonly int[] ScaleDenominators = LoadScaleDenominators();

    private TurboJpegHandle _handle;
    private SkiaImageDecoder? _fallback;

    /// <param name="maxPixels">Largest width × height accepted (default 40 megapixels, as <see cref="SkiaImageDecoder"/>).</param>
    /// <exception cref="InvalidOperationException">libturbojpeg is not installed (<see cref="IsAvailable"/> is false).</exception>
    public TurboJpegDecoder(long maxPixels = 40_000_000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPixels, 1);
        if (!IsAvailable)
            throw new InvalidOperationException(
                "libturbojpeg.so.0 (libjpeg-turbo's TurboJPEG library, 2.0 or later) was not found: install it (Debian/Ubuntu: " +
                "apt-get install libturbojpeg0) or use the Skia decoder (CONTRASTIVE_DECODER=skia).");
        MaxPixels = maxPixels;
        _handle = tjInitDecompress();
        if (_handle.IsInvalid)
        {
            string reason = ErrorText(0);
            _handle.Dispose();
            throw new InvalidOperationException($"TurboJPEG could not create a decompressor: {reason}");
        }
    }

    /// <summary>Whether libturbojpeg (2.0 or later) is installed; looked up once per process.</summary>
    public static bool IsAvailable => TurboJpegNative.IsAvailable;

    public string Name => "turbojpeg";

    /// <summary>TurboJPEG flags added to every decode (the benchmark's TJFLAG_FASTDCT / TJFLAG_FASTUPSAMPLE figures); none by default.</summary>
    internal int ExtraFlags { get; init; }

    /// <summary>Largest width × height accepted, as stored in the file (also for scaled decodes).</summary>
    public long MaxPixels { get; }

    public void Decode(ReadOnlySpan<byte> encoded, PixelBuffer output) =>
        Decode(encoded, output, int.MaxValue, int.MaxValue, null); // no scale reaches that size, so the image is decoded in full

    /// <summary>Decodes at the smallest DCT scale whose output is at least what <paramref name="sizing"/> asks for the stored size.</summary>
    public void Decode(ReadOnlySpan<byte> encoded, PixelBuffer output, IDecodeSizing sizing) =>
        Decode(encoded, output, 0, 0, sizing ?? throw new ArgumentNullException(nameof(sizing)));

    /// <summary>
    /// Decodes scaled down in the DCT domain by the smallest of 1/8, 1/4 and 1/2 whose output, ceil(side × 1/n) as
    /// TJSCALED computes it, is still at least <paramref name="minWidth"/> × <paramref name="minHeight"/>; in full when
    /// none is (0 puts no bound on that side). Images handed to Skia (not JPEG, CMYK) are always decoded in full.
    /// </summary>
    public void Decode(ReadOnlySpan<byte> encoded, PixelBuffer output, int minWidth, int minHeight) =>
        Decode(encoded, output, minWidth, minHeight, null);

    private unsafe void Decode(ReadOnlySpan<byte> encoded, PixelBuffer output, int minWidth, int minHeight, IDecodeSizing? sizing)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfNegative(minWidth);
        ArgumentOutOfRangeException.ThrowIfNegative(minHeight);
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        if (encoded.IsEmpty) throw new ImageDecodeException("the image has zero bytes");
        if (encoded.Length < 2 || encoded[0] != 0xFF || encoded[1] != 0xD8)
        {
            Fallback.Decode(encoded, output);
            return;
        }

        fixed (byte* src = encoded)
        {
            var size = new CULong((nuint)encoded.Length);
            int width = 0, height = 0, subsampling = -1, colorspace = -1;
            int rc = tjDecompressHeader3(_handle, src, size, &width, &height, &subsampling, &colorspace);
            // The return value is not the test. A failed call still fills in the header when libjpeg read it: it fails
            // for a warning, and for chroma sampling that TurboJPEG has no name for, which it decodes all the same. And
            // the call succeeds without touching width and height when the data ends (or reaches EOI) before a frame
            // header, as for a tables-only stream. A fatal error leaves width at 0 too.
            if (width < 1 || height < 1 || colorspace < ColorspaceRgb || colorspace > ColorspaceYcck)
                throw HeaderFailure(rc, encoded.Length);
            if ((long)width * height > MaxPixels)
                throw new ImageDecodeException($"image is {width}x{height}, above the limit of {MaxPixels} pixels");
            if (colorspace is ColorspaceCmyk or ColorspaceYcck)
            {
                Fallback.Decode(encoded, output);
                return;
            }

            // libjpeg keeps quantisation and Huffman tables from one image to the next (for abbreviated streams), so a
            // stream that leaves them out (Motion-JPEG frames carry no DHT) would be decoded with the previous image's.
            // Such a stream gets a fresh handle, whose missing Huffman tables are the standard ones, as in Skia and
            // Pillow, which start every image afresh: the result depends on the bytes alone.
            if (!DefinesTables(encoded)) Renew();

            if (sizing is not null)
            {
                var (w, h) = sizing.MinimumSize(width, height);
                (minWidth, minHeight) = (Math.Max(0, w), Math.Max(0, h));
            }

            int outWidth = width, outHeight = height;
            foreach (int denom in ScaleDenominators)
            {
                int w = Scaled(width, denom), h = Scaled(height, denom);
                if (w >= minWidth && h >= minHeight)
                {
                    outWidth = w;
                    outHeight = h;
                    break;
                }
            }

            // tjDecompress2 picks the largest factor whose output fits in outWidth x outHeight; TJSCALED is monotonic
            // in the factor, so that is the factor chosen above and the output is exactly this size.
            output.Resize(outWidth, outHeight, width, height);
            fixed (byte* dst = output.Pixels)
                rc = tjDecompress2(_handle, src, size, dst, outWidth, outWidth * 3, outHeight, PixelFormatRgb, FlagLimitScans | ExtraFlags);
            if (rc == 0) return;

            byte* message = tjGetErrorStr2(_handle.DangerousGetHandle()); // read once: reading clears the instance's error
            bool warning = tjGetErrorCode(_handle) == ErrorWarning;
            if (warning && message != null && MemoryMarshal.CreateReadOnlySpanFromNullTerminated(message).StartsWith("Corrupt JPEG data"u8))
                return;
            string text = message == null ? "unknown error" : Marshal.PtrToStringUTF8((nint)message) ?? "unknown error";
            throw new ImageDecodeException($"JPEG decoding failed ({width}x{height}, {encoded.Length} bytes): {text}");
        }
    }

    public void Dispose() => _handle.Dispose();

    /// <summary>Reads the JPEG header: size and TJCS colour space (tests check what they generated).</summary>
    internal unsafe (int Width, int Height, int Colorspace) ReadHeader(ReadOnlySpan<byte> encoded)
    {
        int width = 0, height = 0, subsampling = -1, colorspace = -1;
        fixed (byte* src = encoded)
        {
            int rc = tjDecompressHeader3(_handle, src, new CULong((nuint)encoded.Length), &width, &height, &subsampling, &colorspace);
            if (width < 1 || height < 1) throw HeaderFailure(rc, encoded.Length);
        }
        return (width, height, colorspace);
    }

    /// <summary>TJSCALED(dimension, 1/denom): ceil(dimension / denom).</summary>
    internal static int Scaled(int dimension, int denom) => (dimension + denom - 1) / denom;

    private SkiaImageDecoder Fallback => _fallback ??= new SkiaImageDecoder(MaxPixels);

    /// <summary>
    /// The error for a header that could not be read. After a fatal error TurboJPEG 2.1's tjDecompressHeader3 leaves
    /// the decompressor in the middle of a header (it skips jpeg_abort_decompress on that path), and every later header
    /// read on the handle fails ("two SOI markers"); so the handle is replaced by a fresh one.
    /// </summary>
    private ImageDecodeException HeaderFailure(int rc, int length)
    {
        string reason = rc == 0 && tjGetErrorCode(_handle) != ErrorWarning
            ? "no image in the data, only tables"
            : ErrorText(_handle.DangerousGetHandle());
        if (rc != 0) Renew();
        return new ImageDecodeException($"not a readable JPEG ({length} bytes): {reason}");
    }

    /// <summary>Replaces the handle with a fresh one (no tables, no state).</summary>
    private void Renew()
    {
        var fresh = tjInitDecompress();
        if (fresh.IsInvalid)
        {
            fresh.Dispose();
            throw new ImageDecodeException($"TurboJPEG could not create a decompressor: {ErrorText(0)}");
        }
        _handle.Dispose();
        _handle = fresh;
    }

    /// <summary>
    /// Whether the marker segments before the first SOS define a quantisation table (DQT) and Huffman tables (DHT;
    /// not needed with arithmetic coding). Malformed segments count as defining: libjpeg then fails on its own.
    /// </summary>
    internal static bool DefinesTables(ReadOnlySpan<byte> jpeg)
    {
        bool dqt = false, dht = false;
        int pos = 2;
        while (pos + 1 < jpeg.Length)
        {
            if (jpeg[pos] != 0xFF)
            {
                pos++; // stray bytes between segments, which libjpeg skips with a warning
                continue;
            }
            byte marker = jpeg[pos + 1];
            if (marker == 0xFF)
            {
                pos++; // fill byte
                continue;
            }
            if (marker == 0xDA) return dqt && dht;
            if (marker is 0x01 or 0xD8 or (>= 0xD0 and <= 0xD7))
            {
                pos += 2; // no length: TEM, SOI, RSTn
                continue;
            }
            if (marker == 0xD9 || pos + 3 >= jpeg.Length) return true;
            if (marker == 0xDB) dqt = true;
            else if (marker is 0xC4 or 0xC9 or 0xCA or 0xCB or 0xCD or 0xCE or 0xCF) dht = true; // DHT, or an arithmetic-coded frame
            pos += 2 + (jpeg[pos + 2] << 8 | jpeg[pos + 3]);
        }
        return true;
    }

    private static unsafe string ErrorText(nint handle)
    {
        byte* text = tjGetErrorStr2(handle);
        return text == null ? "unknown error" : Marshal.PtrToStringUTF8((nint)text) ?? "unknown error";
    }

    private static unsafe int[] LoadScaleDenominators()
    {
        if (!TurboJpegNative.IsAvailable) return [];
        int count = 0;
        ScalingFactor* factors = tjGetScalingFactors(&count);
        var offered = new List<int>();
        for (int denom = 8; denom >= 2; denom /= 2)
        {
            for (int i = 0; factors != null && i < count; i++)
            {
                if (factors[i].Num == 1 && factors[i].Denom == denom)
                {
                    offered.Add(denom);
                    break;
                }
            }
        }
        return offered.ToArray();
    }
}
