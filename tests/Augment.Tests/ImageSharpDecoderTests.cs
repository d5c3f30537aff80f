using System.Buffers.Binary;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using SkiaSharp;
using Xunit.Abstractions;
using static Contrastive.Augment.Tests.TurboJpegDecoderTests;
using SharpImage = SixLabors.ImageSharp.Image;

namespace Contrastive.Augment.Tests;

/// <summary>
/// ImageSharpDecoder (fully managed, ImageSharp 2.1) against SkiaImageDecoder and TurboJpegDecoder on images generated
/// here: JPEG with Skia's encoder (4:2:0) and TurboJPEG's (4:4:4, progressive, CMYK), PNG from Skia (RGB, RGBA, gray)
/// and from ImageSharp's encoder (palette, 16-bit, gray with alpha, interlaced), GIF, BMP and WebP.
/// </summary>
[Collection(DecoderEnvironment.Name)]
public sealed class ImageSharpDecoderTests(ITestOutputHelper log) : IDisposable
{
    // JPEG: ImageSharp 2.1 uses a floating-point IDCT and upsamples chroma by replication, libjpeg-turbo (Skia and
    // TurboJPEG alike) its accurate integer IDCT and by default a triangle ("fancy") filter for chroma. Measured on
    // the images generated here (the tests log every figure): without chroma subsampling, or against libjpeg-turbo's
    // replicating upsampling, the mean difference is below 0.1 level and the largest 3 levels; with 4:2:0 and the
    // default upsampling, means of 1-5 levels (per-image bounds in the test) and single pixels up to 68 at colour edges.
    private const double JpegMeanTolerance = 0.25;
    private const int JpegIdctMaxTolerance = 4;
    private const int JpegMaxTolerance = 80;

    private readonly ImageSharpDecoder _sharp = new();
    private readonly SkiaImageDecoder _skia = new();
    private readonly TurboJpegDecoder _turbo = new();

    public void Dispose() => _turbo.Dispose();

    private byte[] Sharp(byte[] bytes) => Decoded(_sharp, bytes);

    private byte[] Skia(byte[] bytes) => Decoded(_skia, bytes);

    /// <summary>Scene(w, h) as packed RGBA with a varying alpha (straight, not premultiplied).</summary>
    private static byte[] RgbaScene(int w, int h, int seed)
    {
        using var bmp = Scene(w, h, seed);
        var px = bmp.GetPixelSpan().ToArray();
        var rng = new Random(seed);
        for (int i = 3; i < px.Length; i += 4) px[i] = (byte)rng.Next(256);
        return px;
    }

    private static byte[] RgbScene(int w, int h, int seed)
    {
        using var bmp = Scene(w, h, seed);
        var px = bmp.GetPixelSpan();
        var rgb = new byte[w * h * 3];
        for (int i = 0, j = 0; j < rgb.Length; i += 4, j += 3) (rgb[j], rgb[j + 1], rgb[j + 2]) = (px[i], px[i + 1], px[i + 2]);
        return rgb;
    }

    /// <summary>Encodes with ImageSharp's own encoder (for the PNG, GIF and BMP variants Skia does not write).</summary>
    private static byte[] SharpEncode<TPixel>(ReadOnlySpan<TPixel> pixels, int w, int h, SixLabors.ImageSharp.Formats.IImageEncoder encoder)
        where TPixel : unmanaged, IPixel<TPixel>
    {
        using var image = SharpImage.LoadPixelData(pixels, w, h);
        using var stream = new MemoryStream();
        image.Save(stream, encoder);
        return stream.ToArray();
    }

    private static byte[] SkiaPng(byte[] rgba, int w, int h, SKColorType type = SKColorType.Rgba8888, SKAlphaType alpha = SKAlphaType.Unpremul)
    {
        using var bmp = new SKBitmap(new SKImageInfo(w, h, type, alpha));
        rgba.CopyTo(bmp.GetPixelSpan());
        return Encode(bmp, SKEncodedImageFormat.Png, 100);
    }

    [Fact]
    public void The_setting_chooses_imagesharp_only_when_asked()
    {
        Assert.Equal("imagesharp", ImageDecoders.Choose("imagesharp", true));
        Assert.Equal("imagesharp", ImageDecoders.Choose(" ImageSharp ", false));
        Assert.Equal("turbojpeg", ImageDecoders.Choose(null, true)); // the default is unchanged
        Assert.Equal("skia", ImageDecoders.Choose("auto", false));
        Assert.Contains("skia, turbojpeg, imagesharp or auto", Assert.Throws<InvalidOperationException>(() => ImageDecoders.Choose("image-sharp", true)).Message);
        var d = Assert.IsType<ImageSharpDecoder>(ImageDecoders.Create("imagesharp", 1234));
        Assert.Equal(("imagesharp", 1234L), (d.Name, d.MaxPixels));
    }

    [Fact]
    public void The_decoder_options_select_it_with_its_pixel_limit()
    {
        // The host binds Decoder:Name / Decoder:MaxPixels (or CONTRASTIVE_DECODER / CONTRASTIVE_MAX_PIXELS) into these options.
        var options = new DecoderOptions { Name = "imagesharp", MaxPixels = 850 };
        Assert.Equal("imagesharp", options.Resolve());
        var d = Assert.IsType<ImageSharpDecoder>(options.Factory()());
        Assert.Equal(850, d.MaxPixels);
        Assert.Contains("37x23", Assert.Throws<ImageDecodeException>(() => d.Decode(Jpeg(37, 23, 90), new PixelBuffer())).Message);
    }

    [Theory]
    [InlineData(400, 300, 90, 1.5)]
    [InlineData(400, 300, 95, 1.5)]
    [InlineData(17, 301, 95, 2.5)]
    [InlineData(37, 23, 90, 7.0)]
    [InlineData(1, 1, 90, 0.5)]
    public void Jpeg_pixels_are_close_to_skia_and_turbojpeg(int w, int h, int quality, double meanTolerance)
    {
        // Skia's JPEGs are 4:2:0. The IDCTs alone differ by a few levels (see the 4:4:4 test); what differs most is
        // the chroma upsampling, which ImageSharp 2.1 does by replication and libjpeg-turbo by default with a triangle
        // filter: on these noisy scenes with hard colour edges that is a level or two on average in 400x300 and up to
        // 68 levels at single edge pixels, 5 levels on average in the busy 37x23 (measured: see the log). Against
        // TurboJPEG with its own replicating upsampling (TJFLAG_FASTUPSAMPLE) the difference is the IDCT's again.
        var jpeg = Jpeg(w, h, quality, seed: w + h + quality);
        var sharp = new PixelBuffer();
        _sharp.Decode(jpeg, sharp);
        Assert.Equal((w, h, w, h), (sharp.Width, sharp.Height, sharp.SourceWidth, sharp.SourceHeight));
        var (mean, max) = Difference(sharp.Pixels, Skia(jpeg));
        var (turboMean, turboMax) = Difference(sharp.Pixels, Decoded(_turbo, jpeg));
        var ((rc, _, message), fast) = Tj.DecompressAfter(null, jpeg, w, h, Tj.FlagFastUpsample);
        Assert.True(rc == 0, message);
        var (fastMean, fastMax) = Difference(sharp.Pixels, fast);
        log.WriteLine($"{w}x{h} q{quality} (4:2:0): |imagesharp - skia| mean {mean:F4} max {max}; |imagesharp - turbojpeg| mean {turboMean:F4} " +
                      $"max {turboMax}; |imagesharp - turbojpeg fast upsampling| mean {fastMean:F4} max {fastMax}");
        Assert.True(mean < meanTolerance && max <= JpegMaxTolerance, $"against skia: mean {mean}, max {max}");
        Assert.True(turboMean < meanTolerance && turboMax <= JpegMaxTolerance, $"against turbojpeg: mean {turboMean}, max {turboMax}");
        Assert.True(fastMean < JpegMeanTolerance && fastMax <= JpegIdctMaxTolerance, $"against turbojpeg with fast upsampling: mean {fastMean}, max {fastMax}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Jpeg_444_baseline_and_progressive_are_within_a_few_levels(bool progressive)
    {
        var rgb = RgbScene(100, 80, 21);
        var jpeg = Tj.Compress(rgb, 100, 80, Tj.PixelFormatRgb, 90, progressive ? Tj.FlagProgressive : 0);
        var sharp = Sharp(jpeg);
        var (mean, max) = Difference(sharp, Skia(jpeg));
        log.WriteLine($"100x80 q90 4:4:4 {(progressive ? "progressive" : "baseline")}: |imagesharp - skia| mean {mean:F4} max {max}");
        Assert.True(mean < JpegMeanTolerance && max <= JpegIdctMaxTolerance, $"mean {mean}, max {max}");
    }

    [Fact]
    public void Grayscale_jpeg_comes_out_as_rgb()
    {
        var jpeg = GrayJpeg(61, 45, 92);
        var sharp = Sharp(jpeg);
        Assert.Equal(61 * 45 * 3, sharp.Length);
        for (int i = 0; i < sharp.Length; i += 3) Assert.True(sharp[i] == sharp[i + 1] && sharp[i] == sharp[i + 2], $"pixel {i / 3} is not gray");
        var (mean, max) = Difference(sharp, Skia(jpeg));
        log.WriteLine($"gray 61x45: |imagesharp - skia| mean {mean:F4} max {max}");
        Assert.True(mean < JpegMeanTolerance && max <= JpegIdctMaxTolerance, $"mean {mean}, max {max}");
    }

    [Fact]
    public void Cmyk_jpeg_comes_out_as_rgb_close_to_skia()
    {
        var cmyk = new byte[32 * 24 * 4];
        new Random(3).NextBytes(cmyk);
        var jpeg = Tj.Compress(cmyk, 32, 24, Tj.PixelFormatCmyk, 90);
        var (mean, max) = Difference(Sharp(jpeg), Skia(jpeg));
        log.WriteLine($"CMYK (YCCK) 32x24: |imagesharp - skia| mean {mean:F4} max {max}");
        // Measured: mean 0.05, max 13 on this random CMYK noise, where a few levels of IDCT difference in K are
        // multiplied into every channel and out-of-range samples are clamped at different steps.
        Assert.True(mean < JpegMeanTolerance && max <= 16, $"mean {mean}, max {max}");
    }

    [Fact]
    public void A_flat_colour_jpeg_decodes_like_skia()
    {
        using var bmp = new SKBitmap(24, 20);
        using (var c = new SKCanvas(bmp)) c.Clear(new SKColor(30, 120, 200));
        var jpeg = Encode(bmp, SKEncodedImageFormat.Jpeg, 90);
        var (mean, max) = Difference(Sharp(jpeg), Skia(jpeg));
        log.WriteLine($"flat 24x20: |imagesharp - skia| mean {mean:F4} max {max}");
        Assert.True(max <= 1, $"max {max}");
    }

    [Fact]
    public void Exif_orientation_is_not_applied_as_in_the_other_decoders()
    {
        // APP1 "Exif": a little-endian TIFF header and one IFD entry, Orientation (0x0112, SHORT) = 6 (rotate 90° to view).
        var jpeg = Jpeg(64, 48, 90, seed: 6);
        byte[] tiff = [(byte)'I', (byte)'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0];
        byte[] payload = [.. "Exif\0\0"u8, .. tiff];
        byte[] app1 = [0xFF, 0xE1, (byte)((payload.Length + 2) >> 8), (byte)(payload.Length + 2), .. payload];
        byte[] rotated = [.. jpeg[..2], .. app1, .. jpeg[2..]];
        using (var codec = SKCodec.Create(new MemoryStream(rotated)))
            Assert.Equal(SKEncodedOrigin.RightTop, codec.EncodedOrigin); // the tag is read as orientation 6

        foreach (IImageDecoder d in new IImageDecoder[] { _sharp, _skia, _turbo })
        {
            var p = new PixelBuffer();
            d.Decode(rotated, p);
            Assert.Equal((64, 48), (p.Width, p.Height)); // as stored, not turned to 48x64
            Assert.Equal(Decoded(d, jpeg), p.Pixels.ToArray());
        }
    }

    [Fact]
    public void Png_rgb_rgba_and_gray_from_skia_decode_exactly_like_skia()
    {
        var rgba = RgbaScene(53, 41, 9);
        var withAlpha = SkiaPng(rgba, 53, 41);
        Assert.Equal(Skia(withAlpha), Sharp(withAlpha)); // alpha dropped, colour unpremultiplied in both

        var opaque = (byte[])rgba.Clone();
        for (int i = 3; i < opaque.Length; i += 4) opaque[i] = 255;
        var rgb = SkiaPng(opaque, 53, 41, alpha: SKAlphaType.Opaque);
        Assert.Equal(Skia(rgb), Sharp(rgb));

        var gray = new byte[53 * 41];
        new Random(2).NextBytes(gray);
        var grayPng = SkiaPng(gray, 53, 41, SKColorType.Gray8, SKAlphaType.Opaque);
        var sharp = Sharp(grayPng);
        Assert.Equal(Skia(grayPng), sharp);
        for (int i = 0; i < gray.Length; i++) Assert.Equal((gray[i], gray[i], gray[i]), (sharp[3 * i], sharp[3 * i + 1], sharp[3 * i + 2]));
    }

    public static TheoryData<string> SharpPngKinds() => new() { "palette", "palette-1bit", "gray-alpha", "gray-1bit", "rgba-16bit", "rgb-16bit", "interlaced" };

    [Theory]
    [MemberData(nameof(SharpPngKinds))]
    public void Png_variants_decode_like_skia(string kind)
    {
        const int W = 47, H = 35;
        var rgba = MemoryMarshalCast<Rgba32>(RgbaScene(W, H, 17));
        var encoder = kind switch
        {
            "palette" => new PngEncoder { ColorType = PngColorType.Palette }, // with tRNS: the scene has alpha
            "palette-1bit" => new PngEncoder { ColorType = PngColorType.Palette, BitDepth = PngBitDepth.Bit1 },
            "gray-alpha" => new PngEncoder { ColorType = PngColorType.GrayscaleWithAlpha, BitDepth = PngBitDepth.Bit8 },
            "gray-1bit" => new PngEncoder { ColorType = PngColorType.Grayscale, BitDepth = PngBitDepth.Bit1 },
            "rgba-16bit" => new PngEncoder { ColorType = PngColorType.RgbWithAlpha, BitDepth = PngBitDepth.Bit16 },
            "rgb-16bit" => new PngEncoder { ColorType = PngColorType.Rgb, BitDepth = PngBitDepth.Bit16 },
            _ => new PngEncoder { ColorType = PngColorType.RgbWithAlpha, InterlaceMethod = PngInterlaceMode.Adam7 },
        };
        byte[] png;
        if (kind.EndsWith("16bit", StringComparison.Ordinal))
        {
            // Full 16-bit samples (not 8-bit ones scaled up), so the reduction to 8 bits matters.
            var rng = new Random(4);
            var wide = new Rgba64[W * H];
            for (int i = 0; i < wide.Length; i++)
                wide[i] = new Rgba64((ushort)rng.Next(65536), (ushort)rng.Next(65536), (ushort)rng.Next(65536), (ushort)rng.Next(65536));
            png = SharpEncode<Rgba64>(wide, W, H, encoder);
        }
        else
        {
            png = SharpEncode<Rgba32>(rgba, W, H, encoder);
        }
        Assert.Equal(SKEncodedImageFormat.Png, SKCodec.Create(new MemoryStream(png)).EncodedFormat);
        var sharp = Sharp(png);
        Assert.Equal(W * H * 3, sharp.Length);
        var (mean, max) = Difference(sharp, Skia(png));
        log.WriteLine($"PNG {kind}: |imagesharp - skia| mean {mean:F4} max {max}");
        // 16-bit samples: ImageSharp rounds (v·255 + 32895) >> 16, libpng under Skia may take the high byte; one level at most.
        Assert.True(max <= (kind.EndsWith("16bit", StringComparison.Ordinal) ? 1 : 0), $"mean {mean}, max {max}");
    }

    private static Rgba32[] MemoryMarshalCast<T>(byte[] rgba) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Rgba32>(rgba).ToArray();

    [Fact]
    public void Gif_bmp_and_webp_decode_like_skia()
    {
        const int W = 45, H = 31;
        var opaque = RgbaScene(W, H, 12);
        for (int i = 3; i < opaque.Length; i += 4) opaque[i] = 255;
        var pixels = MemoryMarshalCast<Rgba32>(opaque);

        var gif = SharpEncode<Rgba32>(pixels, W, H, new GifEncoder());
        Assert.Equal(Skia(gif), Sharp(gif));

        var bmp24 = SharpEncode<Rgba32>(pixels, W, H, new BmpEncoder { BitsPerPixel = BmpBitsPerPixel.Pixel24 });
        Assert.Equal(Skia(bmp24), Sharp(bmp24));

        // The IDX reader's samples: 8-bit gray BMP, top-down rows, stride padded to 4.
        var gray = new byte[W * H];
        new Random(8).NextBytes(gray);
        var idx = GrayBmp(gray, W, H);
        var sharp = Sharp(idx);
        Assert.Equal(Skia(idx), sharp);
        for (int i = 0; i < gray.Length; i++) Assert.Equal((gray[i], gray[i], gray[i]), (sharp[3 * i], sharp[3 * i + 1], sharp[3 * i + 2]));

        using var scene = new SKBitmap(new SKImageInfo(W, H, SKColorType.Rgba8888, SKAlphaType.Opaque));
        opaque.CopyTo(scene.GetPixelSpan());
        using var pixmap = scene.PeekPixels();
        var lossless = pixmap.Encode(new SKWebpEncoderOptions(SKWebpEncoderCompression.Lossless, 100))!.ToArray();
        Assert.Equal(Skia(lossless), Sharp(lossless));
        var lossy = pixmap.Encode(new SKWebpEncoderOptions(SKWebpEncoderCompression.Lossy, 90))!.ToArray();
        var (mean, max) = Difference(Sharp(lossy), Skia(lossy));
        log.WriteLine($"WebP lossy {W}x{H} q90: |imagesharp - skia| mean {mean:F4} max {max}");
        Assert.True(max <= 2, $"lossy WebP: mean {mean}, max {max}"); // ImageSharp ports libwebp's decoder: measured 0
    }

    /// <summary>An uncompressed 8-bit gray BMP laid out as IdxDataset writes it.</summary>
    internal static byte[] GrayBmp(byte[] gray, int w, int h)
    {
        const int header = 14 + 40 + 256 * 4;
        int stride = (w + 3) & ~3;
        var b = new byte[header + stride * h];
        var s = b.AsSpan();
        s[0] = (byte)'B';
        s[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(s[2..], b.Length);
        BinaryPrimitives.WriteInt32LittleEndian(s[10..], header);
        BinaryPrimitives.WriteInt32LittleEndian(s[14..], 40);
        BinaryPrimitives.WriteInt32LittleEndian(s[18..], w);
        BinaryPrimitives.WriteInt32LittleEndian(s[22..], -h);
        BinaryPrimitives.WriteInt16LittleEndian(s[26..], 1);
        BinaryPrimitives.WriteInt16LittleEndian(s[28..], 8);
        BinaryPrimitives.WriteInt32LittleEndian(s[34..], stride * h);
        BinaryPrimitives.WriteInt32LittleEndian(s[46..], 256);
        for (int i = 0; i < 256; i++) s[54 + 4 * i] = s[55 + 4 * i] = s[56 + 4 * i] = (byte)i;
        for (int y = 0; y < h; y++) gray.AsSpan(y * w, w).CopyTo(s[(header + y * stride)..]);
        return b;
    }

    [Fact]
    public void Bad_and_truncated_input_is_an_image_decode_exception()
    {
        var p = new PixelBuffer();
        var jpeg = Jpeg(120, 90, 90);
        var random = new byte[2000];
        new Random(11).NextBytes(random);
        random[0] = 0x12;
        var randomAfterSoi = (byte[])random.Clone();
        (randomAfterSoi[0], randomAfterSoi[1], randomAfterSoi[2]) = (0xFF, 0xD8, 0xFF);
        var png = SkiaPng(RgbaScene(60, 40, 3), 60, 40);
        var bmp = GrayBmp(new byte[30 * 20], 30, 20);
        using var scene = Scene(40, 30, 5);
        var webp = Encode(scene, SKEncodedImageFormat.Webp, 90);
        var gif = SharpEncode<Rgba32>(MemoryMarshalCast<Rgba32>(RgbaScene(40, 30, 5)), 40, 30, new GifEncoder());

        var cases = new (string Name, byte[] Bytes, string Expected)[]
        {
            ("empty", [], "zero bytes"),
            ("one byte", [0xFF], "not a recognised image format"),
            ("SOI only", [0xFF, 0xD8, 0xFF], "JPEG"),
            ("random", random, "not a recognised image format"),
            ("random after SOI", randomAfterSoi, "JPEG"),
            ("JPEG cut in its header", jpeg[..200], "JPEG"),
            ("JPEG cut in half", jpeg[..(jpeg.Length / 2)], "no EOI marker"),
            ("JPEG without its EOI", jpeg[..^2], "no EOI marker"),
            ("PNG cut in half", png[..(png.Length / 2)], "do not reach IEND"),
            ("PNG without IEND", png[..^12], "do not reach IEND"),
            ("PNG signature only", png[..8], "PNG"),
            ("PNG with a bad CRC", Flip(png, 8 + 8 + 13), "PNG"), // the IHDR chunk's CRC
            ("BMP cut short", bmp[..^30], "asks for"),
            ("WebP cut short", webp[..^10], "RIFF header"),
            ("GIF cut short", gif[..^10], "GIF trailer"),
        };
        foreach (var (name, bytes, expected) in cases)
        {
            var e = Assert.Throws<ImageDecodeException>(() => _sharp.Decode(bytes, p));
            log.WriteLine($"{name}: {e.Message}");
            Assert.Contains(expected, e.Message);
        }

        // The decoder still works after all that, and the complete files decode.
        foreach (var good in new[] { jpeg, png, bmp, webp, gif }) _sharp.Decode(good, p);
        _sharp.Decode(jpeg, p);
        Assert.Equal((120, 90), (p.Width, p.Height));
    }

    private static byte[] Flip(byte[] bytes, int at)
    {
        var copy = (byte[])bytes.Clone();
        copy[at] ^= 0x55;
        return copy;
    }

    [Fact]
    public void Images_above_the_pixel_limit_are_refused_from_the_header()
    {
        // A 37 × 23 JPEG (851 pixels) against a limit of 850, then 851.
        var small = Jpeg(37, 23, 90);
        Assert.Contains("image is 37x23, above the limit of 850 pixels", Assert.Throws<ImageDecodeException>(() => new ImageSharpDecoder(850).Decode(small, new PixelBuffer())).Message);
        new ImageSharpDecoder(851).Decode(small, new PixelBuffer());

        // SOF0 claiming 8000 x 6000 = 48 MP in front of 40 × 30 scan data: refused as too large (not as bad scan data).
        var jpeg = Jpeg(40, 30, 90);
        int sof = Segments(jpeg).Single(s => s.Marker == 0xC0).Offset;
        var huge = (byte[])jpeg.Clone();
        (huge[sof + 5], huge[sof + 6], huge[sof + 7], huge[sof + 8]) = (6000 >> 8, 6000 & 0xFF, 8000 >> 8, 8000 & 0xFF);
        var p = new PixelBuffer();
        Assert.Contains("8000x6000, above the limit of 40000000 pixels", Assert.Throws<ImageDecodeException>(() => _sharp.Decode(huge, p)).Message);
        Assert.Equal(0, p.Width); // refused before the buffer was touched

        // A PNG whose IHDR (CRC fixed up) claims 20000 x 20000, and a BMP claiming 7000 x 7000: the same.
        var png = SkiaPng(RgbaScene(20, 10, 1), 20, 10);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(16), 20000);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(20), 20000);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(29), Crc32(png.AsSpan(12, 17)));
        Assert.Contains("20000x20000, above the limit", Assert.Throws<ImageDecodeException>(() => _sharp.Decode(png, p)).Message);
        var bmp = GrayBmp(new byte[4 * 4], 4, 4);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(18), 7000);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(22), -7000);
        Assert.Contains("7000x7000, above the limit", Assert.Throws<ImageDecodeException>(() => _sharp.Decode(bmp, p)).Message);
        Assert.Equal(0, p.Width);
    }

    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320 & (uint)-(int)(crc & 1));
        }
        return ~crc;
    }

    [Fact]
    public void Sizing_is_ignored_and_the_image_decoded_in_full()
    {
        IImageDecoder d = _sharp;
        var p = new PixelBuffer();
        d.Decode(Jpeg(320, 240, 90), p, new HalfSizing());
        Assert.Equal((320, 240, 320, 240), (p.Width, p.Height, p.SourceWidth, p.SourceHeight));
    }

    private sealed class HalfSizing : IDecodeSizing
    {
        public (int MinWidth, int MinHeight) MinimumSize(int width, int height) => (width / 2, height / 2);
    }

    [Fact(Timeout = 300_000)]
    public async Task Mutated_images_decode_or_throw_image_decode_exception()
    {
        var results = await Task.Run(() =>
        {
            var sources = new (string Name, byte[] Bytes, bool FixCrc)[]
            {
                ("JPEG", Jpeg(96, 72, 90, seed: 4), false),
                ("progressive JPEG", Tj.Compress(RgbScene(64, 48, 2), 64, 48, Tj.PixelFormatRgb, 90, Tj.FlagProgressive), false),
                ("PNG", SkiaPng(RgbaScene(64, 48, 7), 64, 48), false),
                // CRCs recomputed after mutating, so that the damage reaches the header, filter and deflate code.
                ("PNG, CRCs fixed", SkiaPng(RgbaScene(64, 48, 7), 64, 48), true),
            };
            var rng = new Random(20261201);
            var sharp = new ImageSharpDecoder(maxPixels: 2_000_000);
            var skia = new SkiaImageDecoder(maxPixels: 2_000_000);
            var (ps, pk) = (new PixelBuffer(), new PixelBuffer());
            var list = new List<(string Name, int SharpOk, int SkiaOk, int Disagree, List<string> Errors)>();
            foreach (var (name, original, fixCrc) in sources)
            {
                int sharpOk = 0, skiaOk = 0, disagree = 0;
                var errors = new Dictionary<string, int>();
                for (int n = 0; n < 200; n++)
                {
                    var bytes = (byte[])original.Clone();
                    int kind = rng.Next(4);
                    int Position() => rng.Next(2) == 0 ? 8 + rng.Next(Math.Min(bytes.Length - 8, 700)) : 8 + rng.Next(bytes.Length - 8);
                    if (kind is 0 or 3)
                        for (int k = 1 + rng.Next(4); k > 0; k--) bytes[Position()] ^= (byte)(1 << rng.Next(8));
                    if (kind is 1 or 3)
                        for (int k = 1 + rng.Next(8); k > 0; k--) bytes[Position()] = (byte)rng.Next(256);
                    if (kind == 2 || (kind == 3 && rng.Next(2) == 0)) bytes = bytes[..(1 + rng.Next(bytes.Length - 1))];
                    if (fixCrc) FixPngCrcs(bytes);

                    // Anything but ImageDecodeException escapes and fails the test.
                    bool a = Attempt(sharp, bytes, ps, errors), b = Attempt(skia, bytes, pk, null);
                    sharpOk += a ? 1 : 0;
                    skiaOk += b ? 1 : 0;
                    disagree += a != b ? 1 : 0;
                    if (a && b) Assert.Equal((pk.Width, pk.Height), (ps.Width, ps.Height));
                }
                list.Add((name, sharpOk, skiaOk, disagree, errors.OrderByDescending(e => e.Value).Take(8).Select(e => $"  x{e.Value}: {e.Key}").ToList()));
            }
            return list;
        });
        foreach (var r in results)
        {
            log.WriteLine($"{r.Name}, 200 mutations: imagesharp decoded {r.SharpOk}, skia {r.SkiaOk}; they disagreed on {r.Disagree}");
            foreach (var line in r.Errors) log.WriteLine(line);
        }
        // ImageSharp checks every critical chunk's CRC, so a mutated PNG with its CRCs left as they were never decodes.
        foreach (var r in results)
            Assert.True(r.SharpOk < 200 && (r.SharpOk > 0 || r.Name == "PNG"), $"{r.Name}: the mutations should break some images and (but for CRC-checked PNG) spare some");

        static bool Attempt(IImageDecoder d, byte[] bytes, PixelBuffer p, Dictionary<string, int>? errors)
        {
            try
            {
                d.Decode(bytes, p);
                return true;
            }
            catch (ImageDecodeException e)
            {
                if (errors is not null)
                {
                    string key = string.Concat(e.Message.Select(c => char.IsDigit(c) ? '#' : c));
                    errors[key] = errors.GetValueOrDefault(key) + 1;
                }
                return false;
            }
        }
    }

    /// <summary>Rewrites the CRC of every whole chunk (type and data as they now are).</summary>
    private static void FixPngCrcs(byte[] png)
    {
        long pos = 8;
        while (pos + 12 <= png.Length)
        {
            long length = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan((int)pos));
            if (pos + 12 + length > png.Length) return;
            BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan((int)(pos + 8 + length)), Crc32(png.AsSpan((int)pos + 4, (int)length + 4)));
            pos += 12 + length;
        }
    }

    [Fact]
    public void Steady_state_allocation_is_small()
    {
        var jpeg = Jpeg(400, 300, 95);
        var png = SkiaPng(RgbaScene(200, 150, 3), 200, 150);
        var p = new PixelBuffer();
        for (int i = 0; i < 5; i++)
        {
            _sharp.Decode(jpeg, p);
            _sharp.Decode(png, p);
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 50; i++) _sharp.Decode(jpeg, p);
        long perJpeg = (GC.GetAllocatedBytesForCurrentThread() - before) / 50;
        before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 50; i++) _sharp.Decode(png, p);
        long perPng = (GC.GetAllocatedBytesForCurrentThread() - before) / 50;
        log.WriteLine($"managed bytes allocated an image: {perJpeg} B for a 400x300 JPEG, {perPng} B for a 200x150 RGBA PNG");
        // Pixel memory comes from ImageSharp's pool (unmanaged) and the pixel buffer is reused: what is left is
        // ImageSharp's per-image decoder state, far below the 360 KB of pixels.
        // Measured 17 KB for the JPEG (two JpegDecoderCore: one to identify, one to decode) and 5.7 KB for the PNG.
        Assert.True(perJpeg < 32 * 1024, $"{perJpeg} B a JPEG");
        Assert.True(perPng < 32 * 1024, $"{perPng} B a PNG");
    }
}

/// <summary>Tests that read or set CONTRASTIVE_DECODER / CONTRASTIVE_MAX_PIXELS run one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class DecoderEnvironment
{
    public const string Name = "decoder environment variables";
}
