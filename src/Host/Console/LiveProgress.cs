using Spectre.Console;

namespace Contrastive.Host;

/// <summary>
/// A live display of a long command's progress on the terminal, updated in place (Spectre.Console): a bar, the share
/// done, elapsed and remaining time, and a line of figures. Log lines written meanwhile appear above it. Only when the
/// command writes to the process's stderr and that is a terminal (not CI, a pipe or the service):
/// <see cref="Start"/> returns null otherwise, and the periodic log lines stay. CONTRASTIVE_PROGRESS=off turns it off.
/// </summary>
internal sealed class LiveProgress : IDisposable
{
    private readonly IAnsiConsole _console;
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _runner;
    private readonly CliLoggerProvider? _logs;
    private ProgressTask? _task;

    private LiveProgress(IAnsiConsole console, string title, double maxValue, CliLoggerProvider? logs)
    {
        _console = console;
        _logs = logs;
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _runner = console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(),
                new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async ctx =>
            {
                _task = ctx.AddTask(Markup.Escape(title), maxValue: maxValue > 0 ? maxValue : 1);
                _task.IsIndeterminate = maxValue <= 0; // no limit: a moving bar, no percentage or remaining time
                ready.TrySetResult();
                await _done.Task.ConfigureAwait(false);
                _task.StopTask();
            });
        ready.Task.Wait(TimeSpan.FromSeconds(5));
        if (logs is not null) logs.Redirect = line => _console.WriteLine(line);
    }

    /// <summary>Whether <paramref name="error"/> is the process's stderr and a terminal, so a live display can be shown.</summary>
    public static bool IsTerminal(TextWriter error) =>
        ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected && HostEnvironment.LiveDisplayAllowed;

    /// <summary>A display titled <paramref name="title"/> running to <paramref name="maxValue"/> (0: no known end), or null when stderr is not a terminal.</summary>
    public static LiveProgress? Start(TextWriter error, string title, double maxValue, CliLoggerProvider? logs = null)
    {
        if (!IsTerminal(error)) return null;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(Console.Error), Ansi = AnsiSupport.Detect, ColorSystem = ColorSystemSupport.Detect, Interactive = InteractionSupport.Yes,
        });
        return new LiveProgress(console, title, maxValue, logs);
    }

    /// <summary>Moves the bar to <paramref name="value"/> and shows <paramref name="description"/> (plain text).</summary>
    public void Update(double value, string description)
    {
        if (_task is not { } task) return;
        task.Value = Math.Min(value, task.MaxValue);
        task.Description = Markup.Escape(description);
    }

    public void Dispose()
    {
        if (_logs is not null) _logs.Redirect = null;
        _done.TrySetResult();
        try { _runner.Wait(TimeSpan.FromSeconds(5)); }
        catch (AggregateException) { } // a display that failed must not fail the command
    }
}
