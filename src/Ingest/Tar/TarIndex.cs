using System.Buffers.Binary;
using System.Text;

namespace Contrastive.Ingest;

/// <summary>
/// A sidecar index of an uncompressed tar shard (<c>NAME.tar.idx</c>, written by <c>contrastive pack --format wds</c>):
/// for each sample, the offset of its first header (an extended header included) and the bytes its image and caption
/// members hold. With it a resumed shard seeks to the first sample the cursor needs instead of reading from the shard's
/// start: the pieces a shard streams in are a pure function of these sizes (<see cref="Pieces"/>, the rule of
/// <see cref="TarShardReader"/>), so the pieces, rounds and offsets before the cursor are counted without reading them.
/// The index names the tar's length: an index that does not match its shard is not used.
/// </summary>
internal sealed class TarIndex
{
    /// <summary>The sidecar's name beside its shard.</summary>
    public const string Extension = ".idx";

    private static readonly byte[] Magic = "CTARIDX1"u8.ToArray();
    private const int EntryBytes = 8 + 4 + 4 + 1;

    /// <summary>One sample: where its first header starts, its image's bytes (0: none), its caption's bytes (-1: none) and whether the caption came before the image.</summary>
    internal readonly record struct Entry(long Offset, int ImageBytes, int CaptionBytes, bool CaptionFirst);

    private TarIndex(long tarLength, Entry[] entries) => (TarLength, Entries) = (tarLength, entries);

    /// <summary>The length of the tar file the index describes.</summary>
    public long TarLength { get; }

    /// <summary>The samples in stored order.</summary>
    public IReadOnlyList<Entry> Entries { get; }

    /// <summary>
    /// The first sample of each piece the shard is read in, for pieces of up to <paramref name="groupSize"/> samples and
    /// <paramref name="groupBytes"/> image and caption bytes: the cuts <see cref="TarShardReader.ReadAsync"/> makes (a piece
    /// ends after <paramref name="groupSize"/> samples, or before an image that would pass the bytes, the sample in
    /// progress carrying a caption read before its image into the next piece).
    /// </summary>
    public List<int> Pieces(int groupSize, long groupBytes)
    {
        var starts = new List<int>();
        if (Entries.Count == 0) return starts;
        starts.Add(0);
        int count = 0; // samples finished in the current piece
        long bytes = 0;
        for (int j = 0; j < Entries.Count; j++)
        {
            if (j > 0)
            {
                count++; // sample j - 1 is finished
                if (count == groupSize)
                {
                    starts.Add(j);
                    count = 0;
                    bytes = 0;
                }
            }
            var e = Entries[j];
            long caption = e.CaptionBytes >= 0 && e.CaptionBytes <= CaptionText.MaxBytes ? e.CaptionBytes : 0;
            if (e.CaptionFirst) bytes += caption;
            if (e.ImageBytes > 0)
            {
                if (count > 0 && bytes + e.ImageBytes > groupBytes)
                {
                    starts.Add(j);
                    count = 0;
                    bytes = e.CaptionFirst ? caption : 0;
                }
                bytes += e.ImageBytes;
            }
            if (!e.CaptionFirst) bytes += caption;
        }
        return starts;
    }

    /// <summary>Scans a tar file's headers (no member is read) and returns its index.</summary>
    /// <exception cref="InvalidDataException">The file is not a tar file, or ends inside a member.</exception>
    public static TarIndex Build(Stream tar)
    {
        var header = new byte[512];
        var entries = new List<Entry>();
        string? key = null, pendingName = null;
        long position = 0, memberStart = -1; // memberStart: where the headers of the member being read begin (an extended header's)
        int image = 0, caption = -1;
        bool captionFirst = false, open = false;
        while (true)
        {
            if (memberStart < 0) memberStart = position;
            if (!ReadExact(tar, header)) break;
            position += 512;
            if (TarShardReader.IsZero(header)) break;
            if (!TarShardReader.ChecksumOk(header)) throw new InvalidDataException("tar header checksum mismatch (corrupt or not a tar file)");
            long size = TarShardReader.ParseSize(header);
            byte type = header[156];
            long padded = (size + 511) & ~511L;
            if (type is (byte)'L' or (byte)'x')
            {
                if (size > 1 << 20) throw new InvalidDataException($"tar extended header of {size} bytes is implausible");
                var data = new byte[size];
                if (!ReadExact(tar, data)) throw new InvalidDataException("the tar file ends inside a member (truncated)");
                Skip(tar, padded - size);
                position += padded;
                pendingName = type == (byte)'L' ? Encoding.UTF8.GetString(data).TrimEnd('\0') : TarShardReader.PaxPath(data);
                continue; // the member's start stays at this extended header
            }
            string name = pendingName ?? TarShardReader.HeaderName(header);
            pendingName = null;
            long start = memberStart;
            memberStart = -1;
            Skip(tar, padded);
            position += padded;
            if (type is not ((byte)'0' or 0 or (byte)'7')) continue;
            var (memberKey, ext) = TarShardReader.SplitName(name);
            if (memberKey != key)
            {
                if (open) entries[^1] = entries[^1] with { ImageBytes = image, CaptionBytes = caption, CaptionFirst = captionFirst };
                entries.Add(new Entry(start, 0, -1, false));
                (key, image, caption, captionFirst, open) = (memberKey, 0, -1, false, true);
            }
            if (TarShardReader.IsImage(ext) && image == 0 && size > 0 && size <= int.MaxValue) image = (int)size;
            else if (ext == CaptionText.Extension && caption < 0)
            {
                caption = (int)Math.Min(size, int.MaxValue);
                captionFirst = image == 0;
            }
        }
        if (open) entries[^1] = entries[^1] with { ImageBytes = image, CaptionBytes = caption, CaptionFirst = captionFirst };
        return new TarIndex(tar.Length, [.. entries]);
    }

    /// <summary>Writes the index of the tar file at <paramref name="tarPath"/> beside it (<c>NAME.tar.idx</c>), atomically.</summary>
    public static async Task WriteAsync(string tarPath, CancellationToken ct = default)
    {
        TarIndex index;
        await using (var tar = new FileStream(tarPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan))
            index = Build(tar);
        var bytes = new byte[Magic.Length + 16 + index.Entries.Count * EntryBytes];
        Magic.CopyTo(bytes, 0);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8), index.TarLength);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(16), index.Entries.Count);
        int p = 24;
        foreach (var e in index.Entries)
        {
            BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(p), e.Offset);
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(p + 8), e.ImageBytes);
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(p + 12), e.CaptionBytes);
            bytes[p + 16] = e.CaptionFirst ? (byte)1 : (byte)0;
            p += EntryBytes;
        }
        string temp = tarPath + Extension + ".tmp";
        await File.WriteAllBytesAsync(temp, bytes, ct).ConfigureAwait(false);
        File.Move(temp, tarPath + Extension, overwrite: true);
    }

    /// <summary>Parses a sidecar's bytes; null when they are not an index (a wrong magic or length).</summary>
    public static TarIndex? Parse(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 24 || !bytes[..8].SequenceEqual(Magic)) return null;
        long tarLength = BinaryPrimitives.ReadInt64LittleEndian(bytes[8..]), count = BinaryPrimitives.ReadInt64LittleEndian(bytes[16..]);
        if (count < 0 || bytes.Length != 24 + count * EntryBytes) return null;
        var entries = new Entry[count];
        for (int i = 0, p = 24; i < count; i++, p += EntryBytes)
            entries[i] = new Entry(BinaryPrimitives.ReadInt64LittleEndian(bytes[p..]), BinaryPrimitives.ReadInt32LittleEndian(bytes[(p + 8)..]),
                BinaryPrimitives.ReadInt32LittleEndian(bytes[(p + 12)..]), bytes[p + 16] != 0);
        return new TarIndex(tarLength, entries);
    }

    /// <summary>
    /// The index beside an uncompressed tar shard (local or s3://), when there is one that matches the shard's
    /// <paramref name="tarLength"/>; null otherwise (no sidecar, compressed shards, an unreadable or stale one).
    /// </summary>
    public static async Task<TarIndex?> LoadAsync(string shard, long? tarLength, ObjectStoreOptions store, CancellationToken ct)
    {
        if (!shard.EndsWith(".tar", StringComparison.OrdinalIgnoreCase) || tarLength is not { } length) return null;
        byte[] bytes;
        try
        {
            if (ObjectStore.IsS3(shard))
            {
                // A missing sidecar is a 404 on its size (HEAD): no index. The index is small; it is read whole.
                await using var s3 = await S3ReadStream.OpenAsync(shard + Extension, null, store, ct).ConfigureAwait(false);
                if (s3.Length > 1L << 30) return null;
                bytes = new byte[s3.Length];
                await s3.ReadExactlyAsync(bytes, ct).ConfigureAwait(false);
            }
            else
            {
                string path = (shard.StartsWith("file://", StringComparison.OrdinalIgnoreCase) ? shard[7..] : shard) + Extension;
                if (!File.Exists(path)) return null;
                bytes = await File.ReadAllBytesAsync(path, ct).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ShardFormatException)
        {
            return null;
        }
        return Parse(bytes) is { } index && index.TarLength == length ? index : null;
    }

    private static bool ReadExact(Stream s, Span<byte> buffer)
    {
        int got = 0;
        while (got < buffer.Length)
        {
            int n = s.Read(buffer[got..]);
            if (n == 0) return got == 0 ? false : throw new InvalidDataException("the tar file ends inside a header (truncated)");
            got += n;
        }
        return true;
    }

    private static void Skip(Stream s, long count)
    {
        if (count == 0) return;
        if (s.CanSeek)
        {
            if (s.Position + count > s.Length) throw new InvalidDataException("the tar file ends inside a member (truncated)");
            s.Seek(count, SeekOrigin.Current);
            return;
        }
        var buffer = new byte[Math.Min(count, 1 << 16)];
        while (count > 0)
        {
            int n = s.Read(buffer, 0, (int)Math.Min(buffer.Length, count));
            if (n == 0) throw new InvalidDataException("the tar file ends inside a member (truncated)");
            count -= n;
        }
    }
}
