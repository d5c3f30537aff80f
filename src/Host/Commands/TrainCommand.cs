using Microsoft.Extensions.Configuration;
using System.CommandLine;
using System.Text.Json;
using Contrastive.Training;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Contrastive.Host;

/// <summary>`contrastive train`: a training run as a hosted service of the generic host.</summary>
internal static class TrainCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var cmd = new Command("train", "Train an encoder with a registered method, then score it against the same network at random init (kNN for images, a linear probe for series).");
        var o = new CommandLineOptions(cmd);
        o.Add(TrainSettings.Options);
        // Profiling writes files where the caller says: the command line's, not a service job's (jobs get report.html in their folder).
        o.Add(OptionGroups.Profile("report.html in --out only"));
        var json = o.Json("Print the result as one JSON object on the last line.");
        cmd.SetAction(async (parse, ct) => await RunAsync(o.Configure(parse), parse.GetValue(json), output, error).ConfigureAwait(false));
        return cmd;
    }

    /// <summary>Builds the generic host for a training run and runs it to completion or a stop signal.</summary>
    public static async Task<int> RunAsync(CommandConfiguration config, bool json, TextWriter output, TextWriter error)
    {
        // Every section, the method's own included, is bound and validated before the host starts: a bad setting is one line naming it.
        var settings = TrainSettings.Bind(config);
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = [],
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.AddConfiguration(config.Configuration);
        builder.Logging.ClearProviders();
        var minimum = LogLevelOf(config);
        var logs = new CliLoggerProvider(error, minimum);
        builder.Logging.AddProvider(logs);
        builder.Logging.SetMinimumLevel(minimum);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMinutes(2));
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(new RunDisplay(error, logs));
        builder.Services.AddSingleton<RunOutcome>();
        builder.Services.AddHostedService<TrainingService>();

        using var host = builder.Build();
        var outcome = host.Services.GetRequiredService<RunOutcome>();
        await host.RunAsync().ConfigureAwait(false);
        if (outcome.Error is not null) return Cli.Report(outcome.Error, error);
        if (json) output.WriteLine(JsonSerializer.Serialize(outcome.Result!));
        else Print(outcome.Result!, output);
        return Cli.Ok; // a stop on request (Ctrl-C, SIGTERM) with its checkpoint written is a clean end
    }

    /// <summary>
    /// Short lines on the CLI's stderr; Logging:LogLevel:Default Debug (or CONTRASTIVE_Logging__LogLevel__Default=Debug) adds
    /// the pipeline's per-stage figures and the reasoning behind the run's choices. Data-parallel runs: rank 0 logs the run;
    /// the other ranks only warnings and errors (each still prints its result line).
    /// </summary>
    private static LogLevel LogLevelOf(CommandConfiguration config)
    {
        var minimum = Enum.TryParse<LogLevel>(config.Configuration["Logging:LogLevel:Default"], true, out var level) ? level : LogLevel.Information;
        try { if (HostEnvironment.Launch().Rank > 0 && minimum < LogLevel.Warning) minimum = LogLevel.Warning; }
        catch (DistributedSetupException) { } // reported by the run itself
        return minimum;
    }

    private static void Print(TrainResult r, TextWriter output)
    {
        if (r.ResumedFromStep is { } from) output.WriteLine($"resumed from step {from}");
        output.WriteLine($"steps {r.Steps}, samples {r.Samples}, {r.Seconds:F1} s, final loss {r.FinalLoss?.ToString("F4") ?? "n/a"}, waited for data {r.InputBound:P0}{(r.Interrupted ? " (stopped early)" : "")}");
        if (r.KnnTop1 is not null)
            output.WriteLine($"kNN top-1 on the held-out split: trained {r.KnnTop1:F4}, random-init {r.KnnTop1RandomInit:F4}");
        else if (r.ProbeTop1 is not null)
            output.WriteLine($"linear probe top-1 on the held-out split: trained {r.ProbeTop1:F4}, random-init {r.ProbeTop1RandomInit:F4}");
        else
            output.WriteLine("not evaluated (no labels, no held-out split, or the run was stopped)");
        if (r.BadSamples > 0) output.WriteLine($"bad samples skipped: {r.BadSamples}");
        output.WriteLine($"checkpoint: {r.Checkpoint ?? "(none)"}");
        if (r.Report is not null) output.WriteLine($"report: {r.Report}");
    }
}
