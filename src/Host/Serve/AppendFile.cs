using System.Runtime.InteropServices;
using System.Text;

namespace Contrastive.Host.Serve;

/// <summary>
/// A file opened with O_APPEND: every write lands at the file's end as it is then, so lines from other processes appending
/// to the same file (a job's own output in its job.log) are never overwritten. .NET's FileMode.Append only seeks to the end
/// once, at open.
/// </summary>
internal sealed partial class AppendFile : IDisposable
{
    private const int O_WRONLY = 0x1, O_CREAT = 0x40, O_APPEND = 0x400, O_CLOEXEC = 0x80000;
    private int _fd;

    public AppendFile(string path)
    {
        _fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, Convert.ToInt32("644", 8));
        if (_fd < 0) throw new IOException($"cannot open {path} for appending (errno {Marshal.GetLastPInvokeError()})");
    }

    /// <summary>Appends <paramref name="text"/> in one write (a line of a few KB lands whole).</summary>
    public void Write(string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        int done = 0;
        while (done < bytes.Length && _fd >= 0)
        {
            nint n = write(_fd, ref bytes[done], bytes.Length - done);
            if (n < 0)
            {
                if (Marshal.GetLastPInvokeError() == 4) continue; // EINTR
                throw new IOException($"cannot append to the log (errno {Marshal.GetLastPInvokeError()})");
            }
            done += (int)n;
        }
    }

    public void Dispose()
    {
        if (_fd >= 0) close(_fd);
        _fd = -1;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint write(int fd, ref byte buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int close(int fd);
}
