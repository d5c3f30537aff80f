using System.CommandLine;

namespace Contrastive.Host;

/// <summary>`contrastive report`: the HTML report of a training folder.</summary>
internal static class ReportCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var cmd = new Command("report", "Write the HTML report (plots, per-stage table, input- or compute-bound verdict) of a finished or running training folder.");
        var o = new CommandLineOptions(cmd);
        o.Add([
            new OptionSpec("--run", "Report:Run", "A training run's --out folder (required)."),
            new OptionSpec("--output", "Report:Output", "Where to write the page.", "report.html in the run folder"),
        ]);
        cmd.SetAction(o, output, error, (c, _, _) =>
        {
            var what = c.Bind<ReportCommandOptions>("Report");
            var report = ProfileReport.FromRunFolder(what.Run!, c.NameOf("Report:Run"));
            string path = what.Output ?? Path.Combine(what.Run!, "report.html");
            report.WriteTo(path);
            c.Output.WriteLine($"report: {Path.GetFullPath(path)}");
            if (report.Verdict is { } v) c.Output.WriteLine($"verdict: {v.Headline}");
            return Task.FromResult(Cli.Ok);
        });
        return cmd;
    }
}
