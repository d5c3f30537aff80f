using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Contrastive.Training;

/// <summary>
/// Checkpoint files in a directory: <c>ckpt-{step:D9}.ckpt</c>, written atomically (temporary file, flush to
/// disk, rename) and ending in a SHA-256 of their content, so a torn or corrupted file is detected and the
/// newest intact one is used. The newest <see cref="Keep"/> are kept.
/// </summary>
public sealed class CheckpointStore(string directory, int keep = 3)
{
    private static readonly byte[] Magic = "CTRCKPT1"u8.ToArray();

    public string Directory { get; } = directory;

    public int Keep { get; } = keep;

    /// <summary>Called with each checkpoint's path once it is written and the old ones pruned (e.g. to copy it to object storage).</summary>
    public Action<string>? Written { get; init; }

    public string Write(CheckpointInfo info, byte[] model, byte[] optimizer)
    {
        System.IO.Directory.CreateDirectory(Directory);
        string path = System.IO.Path.Combine(Directory, $"ckpt-{info.Step:D9}.ckpt");
        string tmp = path + ".tmp";
        byte[] header = JsonSerializer.SerializeToUtf8Bytes(info);
        // A write that fails (a full disk) leaves no partial file behind to hold the space.
        try
        {
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
            using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            {
                void Put(ReadOnlySpan<byte> bytes) { fs.Write(bytes); hash.AppendData(bytes); }
                Span<byte> len = stackalloc byte[8];
                Put(Magic);
                BitConverter.TryWriteBytes(len, (long)header.Length); Put(len);
                Put(header);
                BitConverter.TryWriteBytes(len, (long)model.Length); Put(len);
                Put(model);
                BitConverter.TryWriteBytes(len, (long)optimizer.Length); Put(len);
                Put(optimizer);
                fs.Write(hash.GetHashAndReset());
                fs.Flush(flushToDisk: true);
            }
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { }
            throw;
        }
        File.Move(tmp, path, overwrite: true);
        Prune();
        Written?.Invoke(path);
        return path;
    }

    /// <summary>Reads and verifies one checkpoint file.</summary>
    /// <exception cref="InvalidDataException">The file is truncated, corrupted or not a checkpoint; the message names it.</exception>
    public static CheckpointData Read(string path)
    {
        byte[] all;
        try { all = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"Checkpoint '{path}' cannot be read: {e.Message}", e);
        }
        if (all.Length < Magic.Length + 24 + 32 || !all.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new InvalidDataException($"'{path}' is not a checkpoint of this tool (bad header or too short).");
        var body = all.AsSpan(0, all.Length - 32);
        if (!SHA256.HashData(body).AsSpan().SequenceEqual(all.AsSpan(all.Length - 32)))
            throw new InvalidDataException($"Checkpoint '{path}' is corrupted or incomplete (checksum mismatch).");
        int at = Magic.Length;
        byte[] Take(ref int at, ReadOnlySpan<byte> b)
        {
            long n = BitConverter.ToInt64(b.Slice(at, 8));
            at += 8;
            if (n < 0 || at + n > b.Length) throw new InvalidDataException($"Checkpoint '{path}' has an invalid section length.");
            var r = b.Slice(at, (int)n).ToArray();
            at += (int)n;
            return r;
        }
        var header = Take(ref at, body);
        var model = Take(ref at, body);
        var opt = Take(ref at, body);
        var info = JsonSerializer.Deserialize<CheckpointInfo>(header) ?? throw new InvalidDataException($"Checkpoint '{path}' has an empty header.");
        return new CheckpointData(info, model, opt, path);
    }

    /// <summary>Checkpoint files in the directory, newest (highest step) first.</summary>
    public IReadOnlyList<string> List()
    {
        if (!System.IO.Directory.Exists(Directory)) return [];
        var files = System.IO.Directory.GetFiles(Directory, "ckpt-*.ckpt");
        Array.Sort(files, StringComparer.Ordinal);
        Array.Reverse(files);
        return files;
    }

    /// <summary>The newest checkpoint that verifies; the ones skipped (corrupt) are reported through <paramref name="skipped"/>.</summary>
    public CheckpointData? LatestIntact(Action<string>? skipped = null)
    {
        foreach (var file in List())
        {
            try { return Read(file); }
            catch (InvalidDataException e) { skipped?.Invoke(e.Message); }
        }
        return null;
    }

    private void Prune()
    {
        var files = List();
        for (int i = Keep; i < files.Count; i++)
        {
            try { File.Delete(files[i]); } catch (IOException) { }
        }
    }
}
