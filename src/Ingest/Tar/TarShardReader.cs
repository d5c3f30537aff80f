using System.Buffers;
using System.IO.Pipelines;
using System.Text;

namespace Contrastive.Ingest;

/// <summary>
/// Streams a WebDataset tar shard (.tar, or .tar.gz / .tgz through a GZip stream): a sample is the run of consecutive
/// members whose names share a key (the path up to the first '.' of the file name): key.jpg, key.cls, key.txt, ...
/// Read through a PipeReader front to back: no seeking, no temporary files, nothing extracted; member names are
/// only compared as data, never used as paths. Handles ustar, GNU long names ('L') and PAX path records ('x').
/// </summary>
internal sealed class TarShardReader
{
    private static readonly string[] ImageExtensions = ["jpg", "jpeg", "png", "webp", "wav"]; // wav: audio for the series workers
    private static readonly string[] LabelExtensions = ["cls", "label", "class"];

    private readonly byte[] _header = new byte[512];

    /// <summary>
    /// One sample as read: its key, image bytes (pooled; empty when the sample had none), label, and caption (key.txt as UTF-8,
    /// pooled in the same buffers; empty when none). <paramref name="HasCaption"/>: a key.txt member was there (it may be empty);
    /// <paramref name="Problem"/>: why the sample cannot be used, when known here (a caption too large to read).
    /// </summary>
    internal readonly record struct TarSample(string Key, ReadOnlyMemory<byte> Image, long Label, ReadOnlyMemory<byte> Caption = default, bool HasCaption = false,
        string? Problem = null);

    /// <summary>
    /// Reads the samples of <paramref name="stream"/> in order, in groups of up to <paramref name="groupSize"/> samples and
    /// <paramref name="groupBytes"/> image bytes (a group ends before an image that would pass it; a single larger image
    /// is a group of its own), each group owning its buffers.
    /// </summary>
    public async IAsyncEnumerable<(List<TarSample> Samples, PooledBuffers Owner)> ReadAsync(Stream stream, string shard, int groupSize,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct, long groupBytes = long.MaxValue)
    {
        var pipe = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 1 << 16, leaveOpen: true));
        PooledBuffers? owner = new PooledBuffers();
        var samples = new List<TarSample>(groupSize);
        string? key = null, pendingName = null;
        ReadOnlyMemory<byte> image = default, caption = default;
        bool hasCaption = false;
        string? problem = null;
        long label = Sample.NoLabel;
        long bytes = 0; // image bytes of the group so far (the sample in progress included)
        try
        {
            while (true)
            {
                if (!await ReadExactAsync(pipe, _header, ct).ConfigureAwait(false))
                    break; // end of stream without the two zero blocks: accepted, as tar does
                if (IsZero(_header)) break;
                if (!ChecksumOk(_header)) throw new InvalidDataException($"tar header checksum mismatch in '{shard}' (corrupt or not a tar file)");
                long size = ParseSize(_header);
                byte type = _header[156];
                string name = pendingName ?? HeaderName(_header);
                pendingName = null;
                long padded = (size + 511) & ~511L;

                if (type is (byte)'L' or (byte)'x')
                {
                    if (size > 1 << 20) throw new InvalidDataException($"tar extended header of {size} bytes in '{shard}' is implausible");
                    var data = new byte[size];
                    if (!await ReadExactAsync(pipe, data, ct).ConfigureAwait(false)) throw Truncated(shard);
                    await SkipAsync(pipe, padded - size, shard, ct).ConfigureAwait(false);
                    pendingName = type == (byte)'L' ? Encoding.UTF8.GetString(data).TrimEnd('\0') : PaxPath(data);
                    continue;
                }
                if (type is not ((byte)'0' or 0 or (byte)'7'))
                {
                    await SkipAsync(pipe, padded, shard, ct).ConfigureAwait(false); // directories, links, global headers
                    continue;
                }

                var (memberKey, ext) = SplitName(name);
                if (memberKey != key)
                {
                    if (key is not null)
                    {
                        samples.Add(new TarSample(key, image, label, caption, hasCaption, problem));
                        if (samples.Count == groupSize)
                        {
                            var (done, full) = (samples, owner);
                            samples = new List<TarSample>(groupSize);
                            owner = new PooledBuffers();
                            bytes = 0;
                            yield return (done, full);
                        }
                    }
                    key = memberKey;
                    image = default;
                    caption = default;
                    hasCaption = false;
                    problem = null;
                    label = Sample.NoLabel;
                }

                if (Array.IndexOf(ImageExtensions, ext) >= 0 && image.IsEmpty)
                {
                    if (size > int.MaxValue) throw new InvalidDataException($"member '{name}' of '{shard}' is {size} bytes, too large for an image");
                    if (samples.Count > 0 && bytes + size > groupBytes)
                    {
                        // The finished samples go now; the one in progress starts the next group (its label is not in the buffers;
                        // its caption, if read before the image, is copied into the next group's). The copy is made before the
                        // group is handed out: its consumer may release the buffers before asking for the next one, and another
                        // reader may then rent and overwrite them.
                        var full = owner;
                        owner = new PooledBuffers();
                        if (!caption.IsEmpty)
                        {
                            var moved = owner.Rent(caption.Length);
                            caption.Span.CopyTo(moved);
                            caption = moved.AsMemory(0, caption.Length);
                        }
                        bytes = caption.Length;
                        var done = samples;
                        samples = new List<TarSample>(groupSize);
                        yield return (done, full);
                    }
                    bytes += size;
                    var buffer = owner.Rent((int)size);
                    if (!await ReadExactAsync(pipe, buffer.AsMemory(0, (int)size), ct).ConfigureAwait(false)) throw Truncated(shard);
                    image = buffer.AsMemory(0, (int)size);
                    await SkipAsync(pipe, padded - size, shard, ct).ConfigureAwait(false);
                }
                else if (ext == CaptionText.Extension && !hasCaption)
                {
                    hasCaption = true;
                    if (size > CaptionText.MaxBytes)
                    {
                        problem = $"its caption member '{name}' is {size} bytes, more than the {CaptionText.MaxBytes} read";
                        await SkipAsync(pipe, padded, shard, ct).ConfigureAwait(false);
                        continue;
                    }
                    bytes += size;
                    var buffer = owner.Rent((int)size);
                    if (!await ReadExactAsync(pipe, buffer.AsMemory(0, (int)size), ct).ConfigureAwait(false)) throw Truncated(shard);
                    caption = buffer.AsMemory(0, (int)size);
                    await SkipAsync(pipe, padded - size, shard, ct).ConfigureAwait(false);
                }
                else if (Array.IndexOf(LabelExtensions, ext) >= 0 && size <= 64)
                {
                    var text = new byte[size];
                    if (!await ReadExactAsync(pipe, text, ct).ConfigureAwait(false)) throw Truncated(shard);
                    await SkipAsync(pipe, padded - size, shard, ct).ConfigureAwait(false);
                    label = long.TryParse(Encoding.ASCII.GetString(text).Trim(), System.Globalization.NumberStyles.Integer,
                        System.Globalization.CultureInfo.InvariantCulture, out long v) ? v : Sample.NoLabel;
                }
                else
                {
                    await SkipAsync(pipe, padded, shard, ct).ConfigureAwait(false);
                }
            }
            if (key is not null) samples.Add(new TarSample(key, image, label, caption, hasCaption, problem));
            if (samples.Count > 0)
            {
                var full = owner;
                owner = null;
                yield return (samples, full);
            }
        }
        finally
        {
            owner?.Dispose(); // the group in progress when the reader stops early or fails (a group handed out is its consumer's)
            await pipe.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Whether a member with this extension holds the sample's image (or audio).</summary>
    internal static bool IsImage(string extension) => Array.IndexOf(ImageExtensions, extension) >= 0;

    /// <summary>WebDataset's rule: the key is the path up to the first '.' of the file name; the rest is the extension.</summary>
    internal static (string Key, string Extension) SplitName(string name)
    {
        int slash = name.LastIndexOf('/');
        int dot = name.IndexOf('.', slash + 1);
        return dot < 0 ? (name, "") : (name[..dot], name[(dot + 1)..].ToLowerInvariant());
    }

    private static async ValueTask<bool> ReadExactAsync(PipeReader pipe, Memory<byte> destination, CancellationToken ct)
    {
        while (!destination.IsEmpty)
        {
            var result = await pipe.ReadAsync(ct).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (buffer.IsEmpty && result.IsCompleted) { pipe.AdvanceTo(buffer.Start); return false; }
            long n = Math.Min(buffer.Length, destination.Length);
            buffer.Slice(0, n).CopyTo(destination.Span);
            destination = destination[(int)n..];
            pipe.AdvanceTo(buffer.GetPosition(n));
            if (!destination.IsEmpty && result.IsCompleted && n == buffer.Length) return false;
        }
        return true;
    }

    private static async ValueTask SkipAsync(PipeReader pipe, long count, string shard, CancellationToken ct)
    {
        while (count > 0)
        {
            var result = await pipe.ReadAsync(ct).ConfigureAwait(false);
            var buffer = result.Buffer;
            long n = Math.Min(buffer.Length, count);
            pipe.AdvanceTo(buffer.GetPosition(n));
            count -= n;
            if (count > 0 && result.IsCompleted) throw Truncated(shard);
        }
    }

    private static InvalidDataException Truncated(string shard) => new($"tar shard '{shard}' ends inside a member (truncated)");

    internal static bool IsZero(ReadOnlySpan<byte> block) => block.IndexOfAnyExcept((byte)0) < 0;

    internal static bool ChecksumOk(ReadOnlySpan<byte> h)
    {
        long sum = 0;
        for (int i = 0; i < 512; i++) sum += i is >= 148 and < 156 ? (byte)' ' : h[i];
        return ParseOctal(h.Slice(148, 8)) == sum;
    }

    internal static long ParseSize(ReadOnlySpan<byte> h)
    {
        var field = h.Slice(124, 12);
        if ((field[0] & 0x80) != 0) // GNU base-256
        {
            long v = field[0] & 0x7F;
            for (int i = 1; i < 12; i++) v = (v << 8) | field[i];
            return v;
        }
        return ParseOctal(field);
    }

    private static long ParseOctal(ReadOnlySpan<byte> field)
    {
        long v = 0;
        foreach (byte b in field)
        {
            if (b is (byte)' ' or 0) { if (v > 0) break; continue; }
            if (b is < (byte)'0' or > (byte)'7') throw new InvalidDataException("tar header has a non-octal number");
            v = v * 8 + (b - '0');
        }
        return v;
    }

    internal static string HeaderName(ReadOnlySpan<byte> h)
    {
        string name = CString(h[..100]);
        if (h.Slice(257, 5).SequenceEqual("ustar"u8))
        {
            string prefix = CString(h.Slice(345, 155));
            if (prefix.Length > 0) name = prefix + "/" + name;
        }
        return name;
    }

    private static string CString(ReadOnlySpan<byte> b)
    {
        int end = b.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? b : b[..end]);
    }

    /// <summary>The "path" record of a PAX extended header ("LEN key=value\n" records), if any.</summary>
    internal static string? PaxPath(byte[] data)
    {
        int p = 0;
        while (p < data.Length)
        {
            int space = Array.IndexOf(data, (byte)' ', p);
            if (space < 0) break;
            if (!int.TryParse(Encoding.ASCII.GetString(data, p, space - p), out int len) || len <= 0 || p + len > data.Length) break;
            string record = Encoding.UTF8.GetString(data, space + 1, p + len - space - 2);
            if (record.StartsWith("path=", StringComparison.Ordinal)) return record[5..];
            p += len;
        }
        return null;
    }
}
