using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Security.Cryptography;
using System.Text;

namespace Contrastive.Ingest;

/// <summary>
/// The shard cache's folder, shared by every process on the machine that names it. An entry is one whole object
/// (objects/KEY.shard, KEY a hash of the object's URI, ETag and size): its bytes, then a 24-byte trailer (magic, length,
/// XXH3 of the bytes). It is written to a temporary file, reserved at its full size when the fetch starts, and renamed
/// into place when complete; it is used only when its length and checksum hold (a damaged entry is deleted and fetched
/// again). A process keeps an entry open while it may still read it: opening takes a shared lock, and an entry is deleted
/// only under an exclusive one, so an entry someone holds is never deleted. Space is accounted under the folder's lock
/// (.lock), over every file in it, temporary ones included: room for an entry is made by deleting the entries its caller
/// is done with (in the order it finished them), then entries nobody holds that the caller will not read again this
/// epoch, least recently used first.
/// </summary>
internal sealed class ShardCache
{
    internal const int TrailerBytes = 24;
    private const ulong Magic = 0x3144524148535043UL; // "CPSHARD1", little-endian
    private const string Suffix = ".shard", TempSuffix = ".tmp";
    private static readonly ConcurrentDictionary<string, ShardCache> Folders = new(StringComparer.Ordinal);
    private static readonly TimeSpan LockPatience = TimeSpan.FromSeconds(120);
    private readonly string _objects, _lockPath;
    private long _bytesOnDisk;

    private ShardCache(string folder)
    {
        Folder = folder;
        _objects = Path.Combine(folder, "objects");
        _lockPath = Path.Combine(folder, ".lock");
        try { Directory.CreateDirectory(_objects); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataSourceException(folder, $"The shard cache folder '{folder}' cannot be created: {e.Message}", e);
        }
    }

    /// <summary>The cache in <paramref name="options"/>' folder (one object per folder in a process).</summary>
    public static ShardCache For(ShardCacheOptions options) => Folders.GetOrAdd(Path.GetFullPath(options.Directory), f => new ShardCache(f));

    public string Folder { get; }

    /// <summary>The bytes of the folder's files at the last count (under the lock), with what was reserved since.</summary>
    public long BytesOnDisk => Interlocked.Read(ref _bytesOnDisk);

    /// <summary>The entry name of an object version: its URI, ETag (null: unknown) and size.</summary>
    public static string KeyOf(string uri, string? etag, long size)
    {
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes($"{uri}\n{etag}\n{size}"));
        return Convert.ToHexStringLower(digest.AsSpan(0, 20));
    }

    public string PathOf(string key) => Path.Combine(_objects, key + Suffix);

    /// <summary>
    /// The entry of <paramref name="key"/> opened read-only (held until disposed), after checking its length and checksum
    /// (<paramref name="verify"/> false: its length only, for an entry this process has just written and hashed);
    /// null when there is none, it is being deleted, or it is damaged (then it is deleted, and counted).
    /// </summary>
    public FileStream? TryOpen(string key, long size, bool verify = true)
    {
        string path = PathOf(key);
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // absent, or held exclusively by a process deleting it
        }
        bool valid;
        try { valid = verify ? Verify(file, size) : file.Length == size + TrailerBytes; }
        catch (IOException) { valid = false; }
        if (valid)
        {
            file.Position = 0;
            try { File.SetLastWriteTimeUtc(path, DateTime.UtcNow); } // recently used (the order of eviction among others' entries)
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            return file;
        }
        file.Dispose();
        ObjectStoreStats.CacheDamaged();
        TryDelete(path);
        return null;
    }

    /// <summary>Whether <paramref name="file"/> holds <paramref name="size"/> bytes followed by a trailer that matches them.</summary>
    private static bool Verify(FileStream file, long size)
    {
        if (file.Length != size + TrailerBytes) return false;
        Span<byte> trailer = stackalloc byte[TrailerBytes];
        file.Position = size;
        file.ReadExactly(trailer);
        if (BinaryPrimitives.ReadUInt64LittleEndian(trailer) != Magic || BinaryPrimitives.ReadInt64LittleEndian(trailer[8..]) != size) return false;
        file.Position = 0;
        var hash = new XxHash3();
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            for (long left = size; left > 0;)
            {
                int n = file.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                if (n <= 0) return false;
                hash.Append(buffer.AsSpan(0, n));
                left -= n;
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
        return hash.GetCurrentHashAsUInt64() == BinaryPrimitives.ReadUInt64LittleEndian(trailer[16..]);
    }

    /// <summary>The trailer that closes an entry of <paramref name="size"/> bytes whose XXH3 is <paramref name="hash"/>.</summary>
    public static byte[] Trailer(long size, ulong hash)
    {
        var trailer = new byte[TrailerBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(trailer, Magic);
        BinaryPrimitives.WriteInt64LittleEndian(trailer.AsSpan(8), size);
        BinaryPrimitives.WriteUInt64LittleEndian(trailer.AsSpan(16), hash);
        return trailer;
    }

    /// <summary>
    /// Makes room for an entry of <paramref name="size"/> bytes within <paramref name="budget"/> and creates its temporary
    /// file at full size (so every process counts it from now on); null when there is no room without deleting an entry
    /// someone holds or one in <paramref name="needed"/>. Deletes, in this order: the entries of <paramref name="done"/>, then
    /// those nobody holds and not needed, least recently used first.
    /// </summary>
    public async Task<string?> ReserveAsync(string key, long size, long budget, IReadOnlyList<string> done, IReadOnlySet<string> needed, CancellationToken ct)
    {
        long want = size + TrailerBytes;
        if (want > budget) return null;
        using var held = await LockAsync(ct).ConfigureAwait(false);
        var files = Scan();
        long used = files.Sum(f => f.Length);
        if (used + want > budget)
        {
            var byPath = files.ToDictionary(f => f.Path, StringComparer.Ordinal);
            var finished = done.ToHashSet(StringComparer.Ordinal);
            var candidates = done.Select(PathOf).Where(byPath.ContainsKey)
                .Concat(files.Where(f => f.Key is { } k && !needed.Contains(k) && !finished.Contains(k)).OrderBy(f => f.Used).Select(f => f.Path));
            foreach (var path in candidates)
            {
                if (used + want <= budget) break;
                if (TryDelete(path))
                {
                    used -= byPath[path].Length;
                    ObjectStoreStats.CacheEvicted();
                }
            }
        }
        if (used + want > budget)
        {
            Interlocked.Exchange(ref _bytesOnDisk, used);
            return null;
        }
        string temp = Path.Combine(_objects, $"{key}.{Environment.ProcessId}.{Guid.NewGuid():N}{TempSuffix}");
        using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            file.SetLength(want);
        Interlocked.Exchange(ref _bytesOnDisk, used + want);
        return temp;
    }

    /// <summary>Puts a complete temporary file in place as the entry of <paramref name="key"/>.</summary>
    public void Commit(string temp, string key) => File.Move(temp, PathOf(key), overwrite: true);

    /// <summary>Deletes a temporary file that will not be completed (the bytes it reserved are free again).</summary>
    public void Abandon(string temp)
    {
        try { File.Delete(temp); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>The folder's files: entries (with their key and last use) and temporary files; a temporary file of a process that has ended is deleted.</summary>
    private List<(string Path, string? Key, long Length, DateTime Used)> Scan()
    {
        var files = new List<(string, string?, long, DateTime)>();
        foreach (var info in new DirectoryInfo(_objects).EnumerateFiles())
        {
            try
            {
                if (info.Name.EndsWith(TempSuffix, StringComparison.Ordinal))
                {
                    var parts = info.Name.Split('.');
                    if (parts.Length == 4 && int.TryParse(parts[1], out int pid) && pid != Environment.ProcessId && !Directory.Exists($"/proc/{pid}"))
                    {
                        info.Delete(); // left by a process that was killed while fetching
                        continue;
                    }
                    files.Add((info.FullName, null, info.Length, info.LastWriteTimeUtc));
                }
                else
                {
                    string? key = info.Name.EndsWith(Suffix, StringComparison.Ordinal) ? info.Name[..^Suffix.Length] : null;
                    files.Add((info.FullName, key, info.Length, info.LastWriteTimeUtc));
                }
            }
            catch (FileNotFoundException) { } // deleted meanwhile by a reader that found it damaged
        }
        return files;
    }

    /// <summary>Deletes an entry nobody holds (false: someone holds it).</summary>
    private static bool TryDelete(string path)
    {
        try
        {
            using var exclusive = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.None);
            File.Delete(path);
            return true;
        }
        catch (FileNotFoundException)
        {
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The folder's lock (an exclusive lock on .lock), waited for.</summary>
    private async Task<FileStream> LockAsync(CancellationToken ct)
    {
        var started = DateTime.UtcNow;
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return new FileStream(_lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
            {
                if (DateTime.UtcNow - started > LockPatience)
                    throw new IOException($"The shard cache's lock '{_lockPath}' has been held by another process for over {LockPatience.TotalSeconds:F0} s: {e.Message}", e);
                await Task.Delay(Math.Min(20, 1 + attempt), ct).ConfigureAwait(false);
            }
        }
    }
}
