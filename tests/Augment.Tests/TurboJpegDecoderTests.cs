using System.Runtime.InteropServices;
using SkiaSharp;
using Xunit.Abstractions;

namespace Contrastive.Augment.Tests;

/// <summary>
/// TurboJpegDecoder against SkiaImageDecoder on JPEGs generated here with SkiaSharp. These tests need libturbojpeg.so.0
/// (CI installs libturbojpeg0): without it every test here fails, none is skipped.
/// </summary>
[Collection(DecoderEnvironment.Name)]
public sealed partial class TurboJpegDecoderTests(ITestOutputHelper log) : IDisposable
{
    // Measured on Debian 12 (libturbojpeg0 2.1.5) against SkiaSharp 3.119.4's bundled decoder: see
    // Pixels_agree_with_skia. The bounds leave room for another libjpeg-turbo build, not for a different algorithm.
    private const double MeanTolerance = 1.0;
    private const int MaxTolerance = 8;

    private readonly TurboJpegDecoder _turbo = new();
    private readonly SkiaImageDecoder _skia = new();

    public void Dispose() => _turbo.Dispose();

    /// <summary>A photo-like scene: a two-colour gradient, overlapping shapes, then ±10 of per-channel noise.</summary>
    internal static SKBitmap Scene(int w, int h, int seed)
    {
        var rng = new Random(seed);
        var bmp = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(bmp))
        {
            SKColor Any(byte alpha) => new((byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(256), alpha);
            using (var shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(w, h), [Any(255), Any(255)], SKShaderTileMode.Clamp))
            using (var bg = new SKPaint { Shader = shader })
                canvas.DrawRect(0, 0, w, h, bg);
            using var paint = new SKPaint { IsAntialias = true };
            for (int i = 0; i < 12; i++)
            {
                paint.Color = Any((byte)rng.Next(140, 256));
                float x = rng.Next(w), y = rng.Next(h), r = 1 + rng.Next(Math.Max(2, Math.Min(w, h) / 3));
                if (i % 2 == 0) canvas.DrawCircle(x, y, r, paint);
                else canvas.DrawRect(x - r, y - r / 2, 2 * r, r, paint);
            }
        }
        var px = bmp.GetPixelSpan();
        for (int i = 0; i < px.Length; i += 4)
            for (int c = 0; c < 3; c++)
                px[i + c] = (byte)Math.Clamp(px[i + c] + rng.Next(-10, 11), 0, 255);
        return bmp;
    }

    internal static byte[] Encode(SKBitmap bmp, SKEncodedImageFormat format, int quality)
    {
        using var img = SKImage.FromBitmap(bmp);
        using var data = img.Encode(format, quality);
        return data.ToArray();
    }

    internal static byte[] Jpeg(int w, int h, int quality, int seed = 1)
    {
        using var bmp = Scene(w, h, seed);
        return Encode(bmp, SKEncodedImageFormat.Jpeg, quality);
    }

    internal static byte[] GrayJpeg(int w, int h, int quality)
    {
        var rng = new Random(5);
        using var bmp = new SKBitmap(new SKImageInfo(w, h, SKColorType.Gray8, SKAlphaType.Opaque));
        var px = bmp.GetPixelSpan();
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                px[y * bmp.RowBytes + x] = (byte)Math.Clamp((x * 255 / w + y * 128 / h) / 2 + 40 + rng.Next(-12, 13), 0, 255);
        return Encode(bmp, SKEncodedImageFormat.Jpeg, quality);
    }

    internal static (double Mean, int Max) Difference(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        Assert.Equal(a.Length, b.Length);
        long sum = 0;
        int max = 0;
        for (int i = 0; i < a.Length; i++)
        {
            int d = Math.Abs(a[i] - b[i]);
            sum += d;
            max = Math.Max(max, d);
        }
        return ((double)sum / a.Length, max);
    }

    internal static byte[] Decoded(IImageDecoder d, byte[] bytes)
    {
        var p = new PixelBuffer();
        d.Decode(bytes, p);
        return p.Pixels.ToArray();
    }

    /// <summary>Offsets of the marker segments before the entropy-coded data, SOS included: (marker, offset of its FF).</summary>
    internal static List<(byte Marker, int Offset)> Segments(byte[] jpeg)
    {
        var list = new List<(byte, int)>();
        int pos = 2;
        while (pos + 4 <= jpeg.Length)
        {
            Assert.Equal(0xFF, jpeg[pos]);
            byte marker = jpeg[pos + 1];
            list.Add((marker, pos));
            if (marker == 0xDA) break;
            pos += 2 + (jpeg[pos + 2] << 8 | jpeg[pos + 3]);
        }
        return list;
    }

    [Fact]
    public void The_library_is_installed_and_is_the_default_decoder()
    {
        Assert.True(TurboJpegDecoder.IsAvailable, "libturbojpeg.so.0 was not found: apt-get install libturbojpeg0");
        Assert.Equal("turbojpeg", _turbo.Name);
        Assert.Equal("turbojpeg", ImageDecoders.DefaultName);
        Assert.IsType<TurboJpegDecoder>(ImageDecoders.CreateDefault());
        Assert.Equal("turbojpeg", new DecoderOptions().Resolve());
    }

    [Fact]
    public void The_decoder_setting_chooses_or_fails_clearly()
    {
        Assert.Equal("turbojpeg", ImageDecoders.Choose(null, true));
        Assert.Equal("skia", ImageDecoders.Choose(null, false));
        Assert.Equal("skia", ImageDecoders.Choose("", false));
        Assert.Equal("turbojpeg", ImageDecoders.Choose(" Auto ", true));
        Assert.Equal("skia", ImageDecoders.Choose("skia", true));
        Assert.Equal("turbojpeg", ImageDecoders.Choose("TurboJPEG", true));
        Assert.Contains("apt-get install libturbojpeg0", Assert.Throws<InvalidOperationException>(() => ImageDecoders.Choose("turbojpeg", false)).Message);
        Assert.Contains("skia, turbojpeg, imagesharp or auto", Assert.Throws<InvalidOperationException>(() => ImageDecoders.Choose("libpng", true)).Message);
    }

    [Fact]
    public void The_pixel_limit_defaults_to_40_megapixels_and_both_decoders_refuse_above_it()
    {
        // Parsing the setting (Decoder:MaxPixels, or CONTRASTIVE_MAX_PIXELS) is the host's: EnvironmentSettingsTests.
        Assert.Equal(40_000_000, ImageDecoders.DefaultMaxPixels);
        Assert.Equal(40_000_000, new DecoderOptions().MaxPixels);
        Assert.Equal(40_000_000, ((TurboJpegDecoder)ImageDecoders.CreateDefault()).MaxPixels);

        // A 37 × 23 JPEG (851 pixels) against a limit of 850: refused by both, with the size in the message.
        using var bmp = new SkiaSharp.SKBitmap(37, 23);
        using var img = SkiaSharp.SKImage.FromBitmap(bmp);
        var jpeg = img.Encode(SkiaSharp.SKEncodedImageFormat.Jpeg, 90).ToArray();
        IImageDecoder[] decoders = [new SkiaImageDecoder(850), new TurboJpegDecoder(850)];
        foreach (var d in decoders)
            Assert.Contains("37x23", Assert.Throws<ImageDecodeException>(() => d.Decode(jpeg, new PixelBuffer())).Message);
        new SkiaImageDecoder(851).Decode(jpeg, new PixelBuffer());
        using var turbo = new TurboJpegDecoder(851);
        turbo.Decode(jpeg, new PixelBuffer());
        foreach (var d in decoders) (d as IDisposable)?.Dispose();
    }

    [Theory]
    [InlineData(400, 300, 90)]
    [InlineData(400, 300, 95)]
    [InlineData(37, 23, 90)]
    [InlineData(37, 23, 95)]
    [InlineData(1, 1, 90)]
    [InlineData(17, 301, 95)]
    public void Pixels_agree_with_skia(int w, int h, int quality)
    {
        var jpeg = Jpeg(w, h, quality, seed: w + h + quality);
        Assert.Equal((w, h, 1), _turbo.ReadHeader(jpeg)); // TJCS_YCbCr
        var turbo = new PixelBuffer();
        var skia = new PixelBuffer();
        _turbo.Decode(jpeg, turbo);
        _skia.Decode(jpeg, skia);
        Assert.Equal((w, h), (turbo.Width, turbo.Height));
        Assert.Equal((w, h), (skia.Width, skia.Height));
        var (mean, max) = Difference(turbo.Pixels, skia.Pixels);
        log.WriteLine($"{w}x{h} q{quality}: mean |turbo - skia| = {mean:F4}, max = {max}");
        Assert.True(mean < MeanTolerance, $"mean difference {mean}");
        Assert.True(max <= MaxTolerance, $"max difference {max}");
    }

    [Fact]
    public void A_flat_colour_jpeg_decodes_exactly_like_skia()
    {
        // The Batching tests compare the pipeline's views (default decoder) with a Skia decode of such an image.
        using var bmp = new SKBitmap(24, 20);
        using (var c = new SKCanvas(bmp)) c.Clear(new SKColor(30, 120, 200));
        var jpeg = Encode(bmp, SKEncodedImageFormat.Jpeg, 90);
        Assert.Equal(Decoded(_skia, jpeg), Decoded(_turbo, jpeg));
    }

    [Fact]
    public void Grayscale_jpeg_comes_out_as_rgb()
    {
        var jpeg = GrayJpeg(61, 45, 92);
        Assert.Equal((61, 45, 2), _turbo.ReadHeader(jpeg)); // TJCS_GRAY: Skia wrote a one-component JPEG
        var turbo = Decoded(_turbo, jpeg);
        Assert.Equal(61 * 45 * 3, turbo.Length);
        for (int i = 0; i < turbo.Length; i += 3)
        {
            Assert.Equal(turbo[i], turbo[i + 1]);
            Assert.Equal(turbo[i], turbo[i + 2]);
        }
        var (mean, max) = Difference(turbo, Decoded(_skia, jpeg));
        log.WriteLine($"gray 61x45: mean |turbo - skia| = {mean:F4}, max = {max}");
        Assert.True(mean < MeanTolerance && max <= MaxTolerance, $"mean {mean}, max {max}");
    }

    [Fact]
    public void Cmyk_jpeg_is_decoded_by_the_skia_fallback()
    {
        var cmyk = new byte[32 * 24 * 4];
        new Random(3).NextBytes(cmyk);
        var jpeg = Tj.Compress(cmyk, 32, 24, Tj.PixelFormatCmyk, 90);
        Assert.Equal((32, 24, 4), _turbo.ReadHeader(jpeg)); // TJCS_YCCK, which TurboJPEG cannot turn into RGB
        Assert.Equal(Decoded(_skia, jpeg), Decoded(_turbo, jpeg));
    }

    [Theory]
    [InlineData(SKEncodedImageFormat.Png)]
    [InlineData(SKEncodedImageFormat.Webp)]
    public void Other_formats_fall_back_to_skia_exactly(SKEncodedImageFormat format)
    {
        using var bmp = Scene(53, 41, 9);
        var bytes = Encode(bmp, format, 100);
        var turbo = new PixelBuffer();
        _turbo.Decode(bytes, turbo);
        Assert.Equal((53, 41), (turbo.Width, turbo.Height));
        Assert.Equal(Decoded(_skia, bytes), turbo.Pixels.ToArray());
        Assert.Equal("turbojpeg", _turbo.Name);
    }

    [Fact]
    public void Bad_input_is_an_image_decode_exception()
    {
        var p = new PixelBuffer();
        var jpeg = Jpeg(120, 90, 90);
        var random = new byte[2000];
        new Random(11).NextBytes(random);
        random[0] = 0x12;
        var randomAfterSoi = (byte[])random.Clone();
        randomAfterSoi[0] = 0xFF;
        randomAfterSoi[1] = 0xD8;

        Assert.Throws<ImageDecodeException>(() => _turbo.Decode([], p));
        Assert.Throws<ImageDecodeException>(() => _turbo.Decode([0xFF], p));
        Assert.Throws<ImageDecodeException>(() => _turbo.Decode([0xFF, 0xD8], p));
        Assert.Throws<ImageDecodeException>(() => _turbo.Decode(random, p));
        Assert.Throws<ImageDecodeException>(() => _turbo.Decode(randomAfterSoi, p));
        Assert.Throws<ImageDecodeException>(() => _turbo.Decode(jpeg.AsSpan(0, 200), p)); // cut inside the header
        var half = Assert.Throws<ImageDecodeException>(() => _turbo.Decode(jpeg.AsSpan(0, jpeg.Length / 2), p));
        Assert.Contains("Premature end of JPEG file", half.Message);

        // The decoder still works after all that.
        _turbo.Decode(jpeg, p);
        Assert.Equal((120, 90), (p.Width, p.Height));
    }

    [Fact]
    public void Images_above_the_pixel_limit_are_refused_from_the_header()
    {
        var jpeg = Jpeg(40, 30, 90);
        // SOF0: FF C0, length, precision, then height and width, big-endian. Claim 8000 x 6000 = 48 MP.
        int sof = Segments(jpeg).Single(s => s.Marker == 0xC0).Offset;
        var huge = (byte[])jpeg.Clone();
        huge[sof + 5] = 6000 >> 8;
        huge[sof + 6] = 6000 & 0xFF;
        huge[sof + 7] = 8000 >> 8;
        huge[sof + 8] = 8000 & 0xFF;

        var p = new PixelBuffer();
        var e = Assert.Throws<ImageDecodeException>(() => _turbo.Decode(huge, p));
        Assert.Contains("8000x6000, above the limit of 40000000 pixels", e.Message);
        Assert.Equal(0, p.Width); // refused before the buffer was touched

        using var small = new TurboJpegDecoder(maxPixels: 40 * 30 - 1);
        Assert.Contains("above the limit", Assert.Throws<ImageDecodeException>(() => small.Decode(jpeg, p)).Message);
        Assert.Contains("above the limit", Assert.Throws<ImageDecodeException>(() => small.Decode(jpeg, p, 10, 10)).Message);
        Assert.Equal(0, p.Width);
    }

    [Fact]
    public void A_recovered_corruption_warning_is_accepted_and_a_fatal_error_after_a_warning_is_not()
    {
        var jpeg = Jpeg(64, 48, 90);
        var clean = Decoded(_turbo, jpeg);

        // 16 stray bytes before EOI: libjpeg warns "Corrupt JPEG data: 16 extraneous bytes before marker 0xd9" after
        // every row was decoded.
        var stray = jpeg[..^2].Concat(new byte[16]).Concat(jpeg[^2..]).ToArray();
        var (rc, code, message) = Tj.Decompress(stray, 64, 48);
        Assert.Equal((-1, Tj.ErrorWarning), (rc, code));
        Assert.StartsWith("Corrupt JPEG data", message);
        Assert.Equal(clean, Decoded(_turbo, stray));
        Assert.Equal(clean, Decoded(_skia, stray)); // Skia accepts it too

        // Truncation is a warning too ("Premature end of JPEG file"), refused.
        (rc, code, message) = Tj.Decompress(jpeg[..(jpeg.Length / 2)], 64, 48);
        Assert.Equal((-1, Tj.ErrorWarning, "Premature end of JPEG file"), (rc, code, message));

        // Stray bytes before the second marker segment (a warning while reading the header), then SOS naming Huffman
        // tables 3, which are not defined (fatal, in jpeg_start_decompress). TurboJPEG 2.x still reports the warning's
        // code, with the fatal error's message: the decoder must refuse the image.
        var segments = Segments(jpeg);
        int second = segments[1].Offset, sos = segments[^1].Offset;
        var both = jpeg[..second].Concat(new byte[] { 1, 2, 3 }).Concat(jpeg[second..]).ToArray();
        Assert.Equal(0xDA, both[sos + 3 + 1]); // the SOS segment, 3 bytes further on
        both[sos + 3 + 6] = 0x33; // FF DA, length (2 bytes), Ns, component 1's id, then its DC/AC table selectors
        (rc, code, message) = Tj.Decompress(both, 64, 48);
        Assert.Equal((-1, Tj.ErrorWarning), (rc, code));
        Assert.Contains("Huffman table", message);
        Assert.Contains("Huffman table", Assert.Throws<ImageDecodeException>(() => _turbo.Decode(both, new PixelBuffer())).Message);
    }

    [Fact]
    public void A_stream_without_huffman_tables_decodes_as_on_a_fresh_decoder()
    {
        // A progressive JPEG: libjpeg optimises its Huffman tables, which stay in the decompressor afterwards.
        using var scene = Scene(100, 80, 21);
        var rgb = new byte[100 * 80 * 3];
        var px = scene.GetPixelSpan();
        for (int i = 0, j = 0; j < rgb.Length; i += 4, j += 3) (rgb[j], rgb[j + 1], rgb[j + 2]) = (px[i], px[i + 1], px[i + 2]);
        var progressive = Tj.Compress(rgb, 100, 80, Tj.PixelFormatRgb, 90, Tj.FlagProgressive);
        Assert.Equal(Decoded(_skia, progressive), Decoded(_turbo, progressive));

        // A Motion-JPEG-style frame: a baseline JPEG with the standard Huffman tables (TurboJPEG's encoder; Skia's
        // optimises them), its DHT segments cut out.
        var baseline = Tj.Compress(rgb, 100, 80, Tj.PixelFormatRgb, 90);
        var keep = new List<byte>(baseline[..2]);
        var segments = Segments(baseline);
        for (int k = 0; k < segments.Count; k++)
        {
            int end = k + 1 < segments.Count ? segments[k + 1].Offset : baseline.Length;
            if (segments[k].Marker != 0xC4) keep.AddRange(baseline[segments[k].Offset..end]);
        }
        var noDht = keep.ToArray();
        Assert.False(TurboJpegDecoder.DefinesTables(noDht));
        Assert.True(TurboJpegDecoder.DefinesTables(baseline));
        var expected = Decoded(_skia, noDht);
        Assert.Equal(Decoded(_skia, baseline), expected); // Skia fills in the standard tables, which are the ones cut out

        // On a handle that decoded the progressive image first, TurboJPEG uses that image's tables; the decoder does not.
        var (_, stale) = Tj.DecompressAfter(progressive, noDht, 100, 80);
        Assert.NotEqual(expected, stale);
        Assert.Equal(expected, Decoded(_turbo, noDht));
    }

    [Fact(Timeout = 300_000)]
    public async Task Mutated_jpegs_decode_or_throw_image_decode_exception_in_both_decoders()
    {
        var counts = await Task.Run(() =>
        {
            var jpeg = Jpeg(96, 72, 90, seed: 4);
            var rng = new Random(20261123);
            using var turbo = new TurboJpegDecoder(maxPixels: 2_000_000);
            var skia = new SkiaImageDecoder(maxPixels: 2_000_000);
            var (pt, ps) = (new PixelBuffer(), new PixelBuffer());
            int turboOk = 0, skiaOk = 0, bothOk = 0, disagree = 0;
            var (turboErrors, skiaErrors) = (new Dictionary<string, int>(), new Dictionary<string, int>());
            for (int n = 0; n < 300; n++)
            {
                var bytes = (byte[])jpeg.Clone();
                int kind = rng.Next(4);
                int Position() => rng.Next(2) == 0 ? 2 + rng.Next(Math.Min(bytes.Length - 2, 700)) : 2 + rng.Next(bytes.Length - 2);
                if (kind is 0 or 3)
                    for (int k = 1 + rng.Next(4); k > 0; k--) bytes[Position()] ^= (byte)(1 << rng.Next(8));
                if (kind is 1 or 3)
                    for (int k = 1 + rng.Next(8); k > 0; k--) bytes[Position()] = (byte)rng.Next(256);
                if (kind == 2 || (kind == 3 && rng.Next(2) == 0)) bytes = bytes[..(1 + rng.Next(bytes.Length - 1))];

                bool t = Attempt(turbo, bytes, pt, turboErrors), s = Attempt(skia, bytes, ps, skiaErrors);
                turboOk += t ? 1 : 0;
                skiaOk += s ? 1 : 0;
                disagree += t != s ? 1 : 0;
                if (t && s)
                {
                    bothOk++;
                    Assert.Equal((ps.Width, ps.Height), (pt.Width, pt.Height));
                }
            }
            return (turboOk, skiaOk, bothOk, disagree, turboErrors, skiaErrors);
        });
        log.WriteLine($"300 mutations: turbojpeg decoded {counts.turboOk}, skia {counts.skiaOk}, both {counts.bothOk}; they disagreed on {counts.disagree}");
        foreach (var (name, errors) in new[] { ("turbojpeg", counts.turboErrors), ("skia", counts.skiaErrors) })
            foreach (var (message, n) in errors.OrderByDescending(e => e.Value).Take(8))
                log.WriteLine($"  {name} x{n}: {message}");
        Assert.True(counts.turboOk > 0 && counts.turboOk < 300, "the mutations should both break and spare some images");

        static bool Attempt(IImageDecoder d, byte[] bytes, PixelBuffer p, Dictionary<string, int> errors)
        {
            try
            {
                d.Decode(bytes, p);
                return true;
            }
            catch (ImageDecodeException e)
            {
                // Without the numbers, so that alike errors count together.
                string key = string.Concat(e.Message.Select(c => char.IsDigit(c) ? '#' : c));
                errors[key] = errors.GetValueOrDefault(key) + 1;
                return false;
            }
        }
    }

    [Theory]
    [InlineData(400, 300)]
    [InlineData(37, 23)]
    public void Scaled_decode_has_the_tjscaled_size_and_matches_a_box_downscale(int w, int h)
    {
        var jpeg = Jpeg(w, h, 95, seed: 8);
        var full = new PixelBuffer();
        _turbo.Decode(jpeg, full);
        var scaled = new PixelBuffer();
        var boxMeans = new List<double>();
        foreach (int denom in new[] { 1, 2, 4, 8 })
        {
            int sw = (w + denom - 1) / denom, sh = (h + denom - 1) / denom;
            _turbo.Decode(jpeg, scaled, sw, sh);
            Assert.Equal((sw, sh), (scaled.Width, scaled.Height));
            if (denom > 1)
            {
                // One pixel more than this factor gives on either side takes the next larger factor.
                var larger = new PixelBuffer();
                _turbo.Decode(jpeg, larger, sw + 1, 0);
                Assert.Equal(((w + denom / 2 - 1) / (denom / 2), (h + denom / 2 - 1) / (denom / 2)), (larger.Width, larger.Height));
                _turbo.Decode(jpeg, larger, 0, sh + 1);
                Assert.Equal((w + denom / 2 - 1) / (denom / 2), larger.Width);
            }

            var (mean, max) = Difference(scaled.Pixels, BoxDownscale(full, denom));
            var (skiaMean, skiaMax) = Difference(scaled.Pixels, SkiaScaled(jpeg, sw, sh));
            log.WriteLine($"{w}x{h} at 1/{denom}: mean |scaled - box| = {mean:F3}, max = {max}; against Skia's scaled decode: mean {skiaMean:F3}, max {skiaMax}");
            boxMeans.Add(mean);
            Assert.True(skiaMean < MeanTolerance && skiaMax <= MaxTolerance, $"1/{denom}: mean {skiaMean}, max {skiaMax} from Skia's scaled decode");
            if (denom == 1) Assert.Equal(0, max);
        }
        // DCT-domain scaling is not a box filter; on these noisy scenes the gap is about one level in 400x300 and
        // about four in the busy 37x23 (measured: see the log).
        Assert.All(boxMeans, m => Assert.True(m < 6.0, $"mean difference {m} from a box downscale"));

        _turbo.Decode(jpeg, scaled, 0, 0); // no bound at all: the smallest factor
        Assert.Equal(((w + 7) / 8, (h + 7) / 8), (scaled.Width, scaled.Height));
        _turbo.Decode(jpeg, scaled, w + 1, h + 1); // larger than the image: in full
        Assert.Equal((w, h), (scaled.Width, scaled.Height));
        Assert.Equal(full.Pixels.ToArray(), scaled.Pixels.ToArray());
    }

    /// <summary>Skia's own DCT-scaled JPEG decode (SKCodec at a supported scale), as packed RGB.</summary>
    private static byte[] SkiaScaled(byte[] jpeg, int w, int h)
    {
        using var data = SKData.CreateCopy(jpeg);
        using var codec = SKCodec.Create(data);
        var size = codec.GetScaledDimensions((float)w / codec.Info.Width);
        Assert.Equal((w, h), (size.Width, size.Height));
        var rgba = new byte[w * h * 4];
        var handle = GCHandle.Alloc(rgba, GCHandleType.Pinned);
        try
        {
            Assert.Equal(SKCodecResult.Success, codec.GetPixels(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul), handle.AddrOfPinnedObject()));
        }
        finally
        {
            handle.Free();
        }
        var rgb = new byte[w * h * 3];
        for (int i = 0, j = 0; j < rgb.Length; i += 4, j += 3) (rgb[j], rgb[j + 1], rgb[j + 2]) = (rgba[i], rgba[i + 1], rgba[i + 2]);
        return rgb;
    }

    /// <summary>Averages denom × denom blocks (partial at the right and bottom edges), rounded.</summary>
    private static byte[] BoxDownscale(PixelBuffer src, int denom)
    {
        int w = (src.Width + denom - 1) / denom, h = (src.Height + denom - 1) / denom;
        var dst = new byte[w * h * 3];
        var px = src.Pixels;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++)
                {
                    int sum = 0, count = 0;
                    for (int yy = y * denom; yy < Math.Min(src.Height, (y + 1) * denom); yy++)
                        for (int xx = x * denom; xx < Math.Min(src.Width, (x + 1) * denom); xx++, count++)
                            sum += px[(yy * src.Width + xx) * 3 + c];
                    dst[(y * w + x) * 3 + c] = (byte)((sum + count / 2) / count);
                }
        return dst;
    }

    [Fact]
    public void Steady_state_decoding_allocates_nothing_per_image()
    {
        var jpeg = Jpeg(400, 300, 95);
        var p = new PixelBuffer();
        for (int i = 0; i < 5; i++)
        {
            _turbo.Decode(jpeg, p);
            _turbo.Decode(jpeg, p, 200, 150);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 50; i++) _turbo.Decode(jpeg, p);
        long full = GC.GetAllocatedBytesForCurrentThread() - before;
        before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 50; i++) _turbo.Decode(jpeg, p, 200, 150);
        long half = GC.GetAllocatedBytesForCurrentThread() - before;
        log.WriteLine($"allocated over 50 decodes: {full} B in full, {half} B at 1/2");
        Assert.True(full < 50 * 1024, $"{full} bytes over 50 full decodes");
        Assert.True(half < 50 * 1024, $"{half} bytes over 50 scaled decodes");
        Assert.Equal((200, 150), (p.Width, p.Height));
    }

    [Fact]
    public void Dispose_frees_the_handle_once_and_later_use_is_an_error()
    {
        var d = new TurboJpegDecoder();
        d.Decode(Jpeg(8, 8, 90), new PixelBuffer());
        d.Dispose();
        d.Dispose();
        Assert.Throws<ObjectDisposedException>(() => d.Decode(Jpeg(8, 8, 90), new PixelBuffer()));
    }

    /// <summary>TurboJPEG called directly: to write CMYK JPEGs and to look at the library's own error reporting.</summary>
    internal static unsafe partial class Tj
    {
        private const string Library = "libturbojpeg.so.0";
        public const int PixelFormatRgb = 0, PixelFormatCmyk = 11, Subsampling444 = 0, ErrorWarning = 0, FlagProgressive = 16384, FlagFastUpsample = 256;

        [LibraryImport(Library)]
        private static partial nint tjInitCompress();

        [LibraryImport(Library)]
        private static partial nint tjInitDecompress();

        [LibraryImport(Library)]
        private static partial int tjCompress2(nint handle, byte* srcBuf, int width, int pitch, int height, int pixelFormat,
            byte** jpegBuf, CULong* jpegSize, int jpegSubsamp, int jpegQual, int flags);

        [LibraryImport(Library)]
        private static partial int tjDecompress2(nint handle, byte* jpegBuf, CULong jpegSize, byte* dstBuf, int width, int pitch, int height, int pixelFormat, int flags);

        [LibraryImport(Library)]
        private static partial byte* tjGetErrorStr2(nint handle);

        [LibraryImport(Library)]
        private static partial int tjGetErrorCode(nint handle);

        [LibraryImport(Library)]
        private static partial void tjFree(byte* buffer);

        [LibraryImport(Library)]
        private static partial int tjDestroy(nint handle);

        public static byte[] Compress(byte[] pixels, int w, int h, int pixelFormat, int quality, int flags = 0)
        {
            nint handle = tjInitCompress();
            Assert.NotEqual(0, handle);
            byte* jpeg = null;
            CULong size = default;
            try
            {
                fixed (byte* src = pixels)
                    Assert.Equal(0, tjCompress2(handle, src, w, 0, h, pixelFormat, &jpeg, &size, Subsampling444, quality, flags));
                return new ReadOnlySpan<byte>(jpeg, checked((int)size.Value)).ToArray();
            }
            finally
            {
                tjFree(jpeg);
                tjDestroy(handle);
            }
        }

        /// <summary>tjDecompress2 to RGB on a fresh handle: its return value, tjGetErrorCode and tjGetErrorStr2.</summary>
        public static (int Rc, int Code, string Message) Decompress(byte[] jpeg, int w, int h) => DecompressAfter(null, jpeg, w, h).Result;

        /// <summary>Decompresses <paramref name="first"/> (if any), then <paramref name="jpeg"/> (with <paramref name="flags"/>) on the same handle.</summary>
        public static ((int Rc, int Code, string Message) Result, byte[] Pixels) DecompressAfter(byte[]? first, byte[] jpeg, int w, int h, int flags = 0)
        {
            nint handle = tjInitDecompress();
            Assert.NotEqual(0, handle);
            try
            {
                var dst = new byte[w * h * 3];
                int rc;
                if (first is not null)
                {
                    var scratch = new byte[16384 * 3];
                    fixed (byte* src = first)
                    fixed (byte* d = scratch)
                        Assert.Equal(0, tjDecompress2(handle, src, new CULong((nuint)first.Length), d, 128, 0, 128, PixelFormatRgb, 0));
                }
                fixed (byte* src = jpeg)
                fixed (byte* d = dst)
                    rc = tjDecompress2(handle, src, new CULong((nuint)jpeg.Length), d, w, 0, h, PixelFormatRgb, flags);
                return ((rc, tjGetErrorCode(handle), Marshal.PtrToStringUTF8((nint)tjGetErrorStr2(handle)) ?? ""), dst);
            }
            finally
            {
                tjDestroy(handle);
            }
        }
    }
}
