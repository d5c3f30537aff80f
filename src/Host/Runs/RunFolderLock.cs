using System.Globalization;
using System.Text.Json;

namespace Contrastive.Host;

/// <summary>
/// One writer per run folder: the process training in a folder holds an exclusive OS lock on <c>DIR/.lock</c> (on Linux a
/// <c>flock</c>, taken by opening it with <see cref="FileShare.None"/>) for the whole run. The lock dies with the process,
/// so a folder left by a killed run is never blocked. Who holds it (pid, host, command, since) is written beside it in
/// <c>DIR/.lock.holder</c>, which the refused process reads to name the holder.
/// </summary>
internal sealed class RunFolderLock : IDisposable
{
    public const string LockFile = ".lock", HolderFile = ".lock.holder";

    private readonly FileStream _stream;

    private RunFolderLock(FileStream stream, string folder)
    {
        _stream = stream;
        Folder = folder;
    }

    /// <summary>The locked folder (full path).</summary>
    public string Folder { get; }

    /// <summary>Takes the folder's lock, creating the folder when needed.</summary>
    /// <param name="what">How the user named the folder in a message (e.g. "--out runs/a").</param>
    /// <param name="purpose">What this process does there, recorded for a refused process to show (e.g. "contrastive train").</param>
    /// <exception cref="UsageException">Another live process holds the folder; the message names it.</exception>
    public static RunFolderLock Acquire(string folder, string what, string? purpose = null)
    {
        string full = Path.GetFullPath(folder);
        Directory.CreateDirectory(full);
        string path = Path.Combine(full, LockFile);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (IsSharingViolation(e))
        {
            throw new UsageException($"{what} is in use: {DescribeHolder(full)} trains there (lock {path}); one writer per run folder, so use another folder or stop that run.", e);
        }
        var holder = new Holder(Environment.ProcessId, Environment.MachineName, purpose ?? string.Join(' ', Environment.GetCommandLineArgs()),
            DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture));
        byte[] text = JsonSerializer.SerializeToUtf8Bytes(holder);
        stream.SetLength(0);
        stream.Write(text);
        stream.Flush();
        File.WriteAllBytes(Path.Combine(full, HolderFile), text);
        return new RunFolderLock(stream, full);
    }

    /// <summary>The holder recorded beside the lock, in words; "another process" when it cannot be read.</summary>
    private static string DescribeHolder(string folder)
    {
        try
        {
            var h = JsonSerializer.Deserialize<Holder>(File.ReadAllBytes(Path.Combine(folder, HolderFile)));
            if (h is not null) return $"process {h.Pid} on {h.Host} ({h.Command}, since {h.Since})";
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException) { }
        return "another process";
    }

    private static bool IsSharingViolation(IOException e) => e is not FileNotFoundException and not DirectoryNotFoundException
        && (e.HResult == 11 || e.HResult == 32 || e.Message.Contains("being used by another process", StringComparison.Ordinal));

    public void Dispose()
    {
        try { File.Delete(Path.Combine(Folder, HolderFile)); } catch (IOException) { }
        _stream.Dispose();
    }

    private sealed record Holder(
        [property: System.Text.Json.Serialization.JsonPropertyName("pid")] int Pid,
        [property: System.Text.Json.Serialization.JsonPropertyName("host")] string Host,
        [property: System.Text.Json.Serialization.JsonPropertyName("command")] string Command,
        [property: System.Text.Json.Serialization.JsonPropertyName("since")] string Since);
}
