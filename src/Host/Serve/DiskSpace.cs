using System.Runtime.InteropServices;

namespace Contrastive.Host.Serve;

/// <summary>Free space on the file system that holds a path (statvfs: the space an unprivileged process may use).</summary>
internal static partial class DiskSpace
{
    /// <summary>Megabytes free for unprivileged use where <paramref name="path"/> is, or null when it cannot be told.</summary>
    public static double? FreeMb(string path)
    {
        // struct statvfs (64-bit Linux): f_bsize, f_frsize, f_blocks, f_bfree, f_bavail, … as 8-byte fields; 112 bytes in all.
        Span<ulong> buffer = stackalloc ulong[16];
        if (statvfs(path, ref MemoryMarshal.GetReference(buffer)) != 0) return null;
        ulong frsize = buffer[1] != 0 ? buffer[1] : buffer[0];
        return (double)buffer[4] * frsize / (1024 * 1024);
    }

    [LibraryImport("libc", EntryPoint = "statvfs", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int statvfs(string path, ref ulong buffer);
}
