using System.Buffers.Binary;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Metadata;
using SixLabors.ImageSharp.PixelFormats;
using SharpDecoder = SixLabors.ImageSharp.Formats.IImageDecoder;
using SharpInfoDetector = SixLabors.ImageSharp.Formats.IImageInfoDetector;

namespace Contrastive.Augment;

/// <summary>
/// A fully managed decoder on SixLabors.ImageSharp 2.1 (no native library at all), for hosts that forbid native code.
/// Never the default: ImageSharp 2.x has reported security flaws with crafted images, and it decodes JPEG at about two
/// thirds of TurboJPEG's rate (the README's decode figures). Chosen with <c>CONTRASTIVE_DECODER=imagesharp</c> (see
/// <see cref="ImageDecoders"/>).
/// One instance per worker thread.
/// </summary>
/// <remarks>
/// <para>Formats: JPEG (baseline, extended and progressive; grayscale, YCbCr, RGB, CMYK and YCCK; 8 and 12 bits), PNG
/// (every colour type and bit depth: alpha dropped, 16 bits reduced to 8), GIF (first frame), BMP and still WebP (lossy
/// and lossless) — the formats Skia reads. ImageSharp's TIFF, TGA and PBM decoders are left out (less exposure to
/// crafted files; Skia reads none of them), and so are animated WebP files, which ImageSharp 2.1 refuses (Skia decodes
/// their first frame). Everything comes out as packed RGB. Like <see cref="SkiaImageDecoder"/> and
/// <see cref="TurboJpegDecoder"/>, pixels are as stored: EXIF orientation is not applied and colour profiles are not
/// converted (metadata is not even read).</para>
/// <para>Pixels: PNG, GIF, BMP and WebP come out as Skia decodes them (16-bit PNG samples within one level, the
/// rounding). JPEG differs from libjpeg-turbo (Skia, TurboJPEG) by ImageSharp's floating-point IDCT, a few levels at
/// most, and for subsampled chroma (4:2:0, 4:2:2) by its upsampling: replication where libjpeg-turbo uses a triangle
/// filter, a level or two on average and tens of levels at single pixels on hard colour edges.</para>
/// <para>Always decodes in full: ImageSharp 2.1's JPEG decoder has no reduced (DCT-scaled) decode (it came with 3.0,
/// whose licence is paid), so <see cref="IImageDecoder.Decode(ReadOnlySpan{byte}, PixelBuffer, IDecodeSizing)"/> is
/// the full decode, as in Skia.</para>
/// <para>Bad data: the header is read first (ImageSharp's Identify) and images above <see cref="MaxPixels"/> are
/// refused before any pixel memory is taken. ImageSharp decodes a truncated file without complaint (the missing part
/// comes out black or grey), so files that visibly end early are refused first: a JPEG without an EOI marker after its
/// first scan, a PNG whose chunks do not run to IEND, a WebP shorter than its RIFF size, an uncompressed BMP shorter than
/// its rows, a GIF not ending in its trailer byte. These are checks on the container, not on the compressed data: a
/// PNG whose chunks are whole but whose compressed data ends early still decodes with black rows, and ImageSharp does
/// not verify the zlib checksum (it does check every critical chunk's CRC). Any exception from ImageSharp (its own
/// format errors, and the null-reference, index or argument errors its parsers raise on some damaged files) becomes an
/// <see cref="ImageDecodeException"/> naming the format; only running out of memory passes through. Unlike TurboJPEG,
/// a progressive JPEG's scan count is not limited.</para>
/// <para>Memory: ImageSharp decodes into its own image (pooled memory from its default allocator), which is copied into
/// <see cref="PixelBuffer.Pixels"/>; the input is read in place through a reusable stream. ImageSharp still allocates its
/// decoder state per image, twice (to identify, then to decode): about 17 KB of managed memory for a JPEG, 6 KB for a
/// PNG.</para>
/// </remarks>
public sealed class ImageSharpDecoder : IImageDecoder
{
    private readonly Configuration _configuration;
    private readonly JpegDecoder _jpeg = new() { IgnoreMetadata = true };
    private readonly PngDecoder _png = new() { IgnoreMetadata = true };
    private readonly GifDecoder _gif = new() { IgnoreMetadata = true, DecodingMode = FrameDecodingMode.First };
    private readonly BmpDecoder _bmp = new();
    private readonly WebpDecoder _webp = new() { IgnoreMetadata = true };
    private readonly PointerStream _stream = new();

    public ImageSharpDecoder(long maxPixels = 40_000_000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPixels, 1);
        MaxPixels = maxPixels;
        _configuration = new Configuration(
            new JpegConfigurationModule(), new PngConfigurationModule(), new GifConfigurationModule(),
            new BmpConfigurationModule(), new WebpConfigurationModule())
        {
            // One decoder per worker thread: no parallel loops inside a decode.
            MaxDegreeOfParallelism = 1,
        };
    }

    public string Name => "imagesharp";

    /// <summary>Largest width × height accepted (default 40 megapixels, as the other decoders).</summary>
    public long MaxPixels { get; }

    public unsafe void Decode(ReadOnlySpan<byte> encoded, PixelBuffer output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (encoded.IsEmpty) throw new ImageDecodeException("the image has zero bytes");
        var (format, decoder) = Sniff(encoded);
        if (decoder is null) throw new ImageDecodeException($"not a recognised image format ({encoded.Length} bytes)");

        fixed (byte* data = encoded)
        {
            _stream.Open(data, encoded.Length);
            try
            {
                var info = ((SharpInfoDetector)decoder).Identify(_configuration, _stream, CancellationToken.None);
                if (info is null || info.Width <= 0 || info.Height <= 0)
                    throw new ImageDecodeException($"invalid {format} image size {info?.Width ?? 0}x{info?.Height ?? 0}");
                if ((long)info.Width * info.Height > MaxPixels)
                    throw new ImageDecodeException($"image is {info.Width}x{info.Height}, above the limit of {MaxPixels} pixels");
                if (Incomplete(format, encoded) is { } problem)
                    throw new ImageDecodeException($"incomplete {format} image ({info.Width}x{info.Height}, {encoded.Length} bytes): {problem}");

                _stream.Position = 0;
                using var image = decoder.Decode<Rgb24>(_configuration, _stream, CancellationToken.None);
                if (image.Width != info.Width || image.Height != info.Height)
                    throw new ImageDecodeException($"the {format} image decoded at {image.Width}x{image.Height}, its header says {info.Width}x{info.Height}");
                output.Resize(image.Width, image.Height);
                image.CopyPixelDataTo(output.Pixels); // Rgb24 is packed R, G, B: the buffer's layout
            }
            catch (Exception e) when (e is not (OutOfMemoryException or ImageDecodeException))
            {
                // ImageSharp's own errors say what is wrong; anything else is one of its parsers tripping on the data.
                string what = e is ImageFormatException or NotSupportedException or InvalidDataException ? e.Message : $"{e.GetType().Name}: {e.Message}";
                throw new ImageDecodeException($"ImageSharp could not decode the {format} image ({encoded.Length} bytes): {what}");
            }
            finally
            {
                _stream.Release(); // forget the pointer: the bytes are unpinned once this returns
            }
        }
    }

    /// <summary>The format from the first bytes (ImageSharp's detectors look at the same signatures), and its decoder.</summary>
    private (string Format, SharpDecoder? Decoder) Sniff(ReadOnlySpan<byte> b)
    {
        if (b.Length >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return ("JPEG", _jpeg);
        if (b.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A])) return ("PNG", _png);
        if (b.StartsWith("GIF87a"u8) || b.StartsWith("GIF89a"u8)) return ("GIF", _gif);
        if (b.Length >= 12 && b.StartsWith("RIFF"u8) && b[8..12].SequenceEqual("WEBP"u8)) return ("WebP", _webp);
        if (b.Length >= 18 && b.StartsWith("BM"u8)) return ("BMP", _bmp);
        return ("", null);
    }

    /// <summary>Why the file visibly ends early (see the remarks), or null.</summary>
    internal static string? Incomplete(string format, ReadOnlySpan<byte> b) => format switch
    {
        "JPEG" => JpegIncomplete(b),
        "PNG" => PngIncomplete(b),
        "GIF" => b[^1] == 0x3B ? null : "no GIF trailer (3B) at the end",
        "WebP" => (long)BinaryPrimitives.ReadUInt32LittleEndian(b[4..]) + 8 > b.Length
            ? $"the RIFF header gives {(long)BinaryPrimitives.ReadUInt32LittleEndian(b[4..]) + 8} bytes" : null,
        "BMP" => BmpIncomplete(b),
        _ => null,
    };

    /// <summary>Walks the marker segments to the first SOS; the file must hold an EOI marker (FF D9) after it.</summary>
    private static string? JpegIncomplete(ReadOnlySpan<byte> jpeg)
    {
        int pos = 2;
        while (true)
        {
            if (pos + 1 >= jpeg.Length) return "the data ends before the first scan";
            if (jpeg[pos] != 0xFF)
            {
                pos++; // stray bytes between segments, which decoders skip
                continue;
            }
            byte marker = jpeg[pos + 1];
            if (marker is 0xFF or 0x01 or 0xD8 or (>= 0xD0 and <= 0xD7))
            {
                pos += marker == 0xFF ? 1 : 2; // fill byte, or a marker without a length
                continue;
            }
            if (marker == 0xD9) return "EOI before any scan";
            if (pos + 3 >= jpeg.Length) return "the data ends inside a marker segment";
            int next = pos + 2 + (jpeg[pos + 2] << 8 | jpeg[pos + 3]);
            if (marker == 0xDA)
            {
                // In entropy-coded data an FF byte is always followed by 00 or by a marker: FF D9 there is the EOI.
                return next <= jpeg.Length && jpeg[next..].LastIndexOf((ReadOnlySpan<byte>)[0xFF, 0xD9]) >= 0
                    ? null : "no EOI marker after the scan data (the file is cut short)";
            }
            pos = next;
        }
    }

    /// <summary>Walks the chunks (length, type, data, CRC) from the signature; they must reach IEND within the data.</summary>
    private static string? PngIncomplete(ReadOnlySpan<byte> png)
    {
        long pos = 8;
        while (pos + 8 <= png.Length)
        {
            long length = BinaryPrimitives.ReadUInt32BigEndian(png[(int)pos..]);
            bool end = png.Slice((int)pos + 4, 4).SequenceEqual("IEND"u8);
            pos += 12 + length;
            if (pos > png.Length) break;
            if (end) return null;
        }
        return "the chunks do not reach IEND (the file is cut short)";
    }

    /// <summary>For an uncompressed BMP (BI_RGB, BI_BITFIELDS): the pixel data offset plus the rows must fit in the data.</summary>
    private static string? BmpIncomplete(ReadOnlySpan<byte> bmp)
    {
        long offset = BinaryPrimitives.ReadUInt32LittleEndian(bmp[10..]);
        uint headerSize = BinaryPrimitives.ReadUInt32LittleEndian(bmp[14..]);
        long width, height, bits, compression;
        if (headerSize == 12 && bmp.Length >= 26)
        {
            (width, height, bits, compression) = (BinaryPrimitives.ReadInt16LittleEndian(bmp[18..]), BinaryPrimitives.ReadInt16LittleEndian(bmp[20..]),
                BinaryPrimitives.ReadUInt16LittleEndian(bmp[24..]), 0);
        }
        else if (headerSize >= 40 && bmp.Length >= 34)
        {
            (width, height, bits, compression) = (BinaryPrimitives.ReadInt32LittleEndian(bmp[18..]), BinaryPrimitives.ReadInt32LittleEndian(bmp[22..]),
                BinaryPrimitives.ReadUInt16LittleEndian(bmp[28..]), BinaryPrimitives.ReadUInt32LittleEndian(bmp[30..]));
        }
        else
        {
            return null; // ImageSharp judges the header itself
        }
        if (compression is not (0 or 3 or 6)) return null; // RLE and the rest: not sized from the header
        long stride = (Math.Abs(width) * bits + 31) / 32 * 4;
        long need = offset + stride * Math.Abs(height);
        return need > bmp.Length ? $"the header asks for {need} bytes" : null;
    }

    /// <summary>A read-only, seekable stream over pinned memory, reused from one image to the next.</summary>
    private sealed unsafe class PointerStream : Stream
    {
        private byte* _data;
        private long _length, _position;

        public void Open(byte* data, long length)
        {
            _data = data;
            _length = length;
            _position = 0;
        }

        public void Release()
        {
            _data = null;
            _length = _position = 0;
        }

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => _length;

        public override long Position
        {
            get => _position;
            set => _position = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_position >= _length) return 0;
            int n = (int)Math.Min(buffer.Length, _length - _position);
            new ReadOnlySpan<byte>(_data + _position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override int ReadByte() => _position < _length ? _data[_position++] : -1;

        public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            SeekOrigin.End => _length + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
