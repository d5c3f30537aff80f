using Microsoft.Extensions.Logging;

namespace Contrastive.Host;

/// <summary>
/// Log lines as a person reads them on the command line's stderr: "HH:mm:ss message", with "warning:" or "error:" in front
/// when it is one, and no category prefix. Writes to the CLI's own error writer, so what a run logs is what its caller captures.
/// </summary>
internal sealed class CliLoggerProvider(TextWriter writer, LogLevel minimum = LogLevel.Information) : ILoggerProvider
{
    private readonly object _gate = new();

    /// <summary>Where lines go instead of the writer while a live display owns the terminal (null: the writer).</summary>
    public Action<string>? Redirect { get; set; }

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose() { }

    private void Write(LogLevel level, string message, Exception? exception)
    {
        string prefix = level switch { LogLevel.Warning => "warning: ", >= LogLevel.Error => "error: ", _ => "" };
        string line = $"{DateTime.Now:HH:mm:ss} {prefix}{message}";
        if (exception is not null && HostEnvironment.Debug) line += Environment.NewLine + exception;
        lock (_gate)
        {
            if (Redirect is { } redirect) redirect(line);
            else writer.WriteLine(line);
        }
    }

    private sealed class Logger(CliLoggerProvider provider) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= provider.Minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel)) provider.Write(logLevel, formatter(state, exception), exception);
        }
    }

    /// <summary>The lowest level written (Information by default; Debug adds the per-stage pipeline figures).</summary>
    public LogLevel Minimum { get; set; } = minimum;
}
