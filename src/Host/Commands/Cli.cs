using System.CommandLine;
using Contrastive.Ingest;
using Microsoft.Extensions.Options;

namespace Contrastive.Host;

/// <summary>The `contrastive` command line: one file per command under Commands/. Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.</summary>
internal static class Cli
{
    public const int Ok = 0, Failure = 1, Usage = 2;

    public static async Task<int> RunAsync(string[] args, TextWriter? stdout = null, TextWriter? stderr = null)
    {
        var output = stdout ?? Console.Out;
        var error = stderr ?? Console.Error;
        var root = Build(output, error);
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var e in parsed.Errors) error.WriteLine($"error: {e.Message}");
            error.WriteLine("Run 'contrastive --help' (or 'contrastive COMMAND --help') for the options.");
            return Usage;
        }
        var config = new InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false };
        try
        {
            return await parsed.InvokeAsync(config).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            return Report(e, error);
        }
    }

    /// <summary>The root command with every command (one file each under Commands/).</summary>
    internal static RootCommand Build(TextWriter output, TextWriter error)
    {
        var root = new RootCommand("Contrastive.Pipeline: streaming contrastive self-supervised pretraining.");
        root.Subcommands.Add(TrainCommand.Create(output, error));
        root.Subcommands.Add(EvalCommand.Create(output, error));
        root.Subcommands.Add(EmbedCommand.Create(output, error));
        root.Subcommands.Add(ExportCommand.Create(output, error));
        root.Subcommands.Add(DemoDataCommand.Create(output, error));
        root.Subcommands.Add(BenchCommand.Create(output, error));
        root.Subcommands.Add(InspectCommand.Create(output, error));
        root.Subcommands.Add(PackCommand.Create(output, error));
        root.Subcommands.Add(MethodsCommand.Create(output));
        root.Subcommands.Add(ReportCommand.Create(output, error));
        root.Subcommands.Add(ServeCommand.Create(output, error));
        root.Subcommands.Add(DocsCommand.Create(output, () => Build(TextWriter.Null, TextWriter.Null)));
        return root;
    }

    /// <summary>Builds the generic host for a training run and runs it to completion or a stop signal (as `train` does).</summary>
    public static Task<int> TrainAsync(IDictionary<string, string?> overrides, bool json, TextWriter output, TextWriter error) =>
        TrainCommand.RunAsync(Settings.Build(overrides), json, output, error);

    /// <summary>Prints an error the way a user needs it and picks the exit code.</summary>
    internal static int Report(Exception e, TextWriter error)
    {
        switch (e)
        {
            case UsageException u:
                error.WriteLine($"error: {u.Message}");
                return Usage;
            case OptionsValidationException v:
                foreach (var f in v.Failures) error.WriteLine($"configuration error ({v.OptionsType.Name}): {f}");
                return Usage;
            case DataSourceException d:
                error.WriteLine($"error: {d.Message}");
                return Usage;
            case OperationCanceledException:
                error.WriteLine("stopped.");
                return Failure;
            default:
                error.WriteLine($"error: {e.Message}");
                if (HostEnvironment.Debug) error.WriteLine(e);
                return Failure;
        }
    }
}
