namespace Contrastive.Host;

/// <summary>How a command opens its live display (none when its stderr is not a terminal).</summary>
internal sealed class RunDisplay(TextWriter error, CliLoggerProvider? logs = null)
{
    public LiveProgress? Start(string title, double maxValue) => LiveProgress.Start(error, title, maxValue, logs);
}
