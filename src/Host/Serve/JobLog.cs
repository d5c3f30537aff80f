using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Contrastive.Host.Serve;

/// <summary>
/// A job's logger: every line goes to the job's own log file (jobs/ID/job.log, appended across restarts, read by the log
/// endpoint) and to the service's log with the job id in front.
/// </summary>
internal sealed class JobLog(string path, string jobId, ILogger service) : ILogger, IDisposable
{
    // Appended with O_APPEND: the job's own processes append their output to the same file.
    private readonly AppendFile? _file = Open(path);
    private readonly Lock _gate = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel)) return;
        string message = formatter(state, exception);
        string line = string.Create(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} {Level(logLevel)} {message}");
        lock (_gate)
        {
            // A full disk must not turn a log line into the job's failure: the service's own log still has the line.
            try { _file?.Write(exception is not null && logLevel >= LogLevel.Error ? line + "\n" + exception + "\n" : line + "\n"); }
            catch (IOException) { }
        }
        service.Log(logLevel, eventId, exception, "job {Job}: {Message}", jobId, message);
    }

    private static AppendFile? Open(string path)
    {
        try { return new AppendFile(path); }
        catch (IOException) { return null; } // a full disk: the lines still reach the service's log
    }

    /// <summary>Writes a line of the service's own about this job (state changes).</summary>
    public void Note(string message) => this.LogInformation("{Message}", message);

    private static string Level(LogLevel l) => l switch
    {
        LogLevel.Warning => "warn",
        LogLevel.Error or LogLevel.Critical => "fail",
        _ => "info",
    };

    /// <summary>The last <paramref name="lines"/> lines of a job log (at most 1 MB read from its end).</summary>
    public static string Tail(string path, int lines)
    {
        if (!File.Exists(path)) return "";
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        long start = Math.Max(0, fs.Length - 1_000_000);
        fs.Seek(start, SeekOrigin.Begin);
        using var reader = new StreamReader(fs);
        var body = reader.ReadToEnd().Split('\n').ToList();
        if (body.Count > 0 && body[^1].Length == 0) body.RemoveAt(body.Count - 1); // after the last newline
        if (start > 0 && body.Count > 0) body.RemoveAt(0); // a line cut by where the read began
        return string.Join('\n', body.Skip(Math.Max(0, body.Count - lines))) + (body.Count > 0 ? "\n" : "");
    }

    public void Dispose()
    {
        lock (_gate) _file?.Dispose();
    }
}
