using System.CommandLine;
using System.Text.Json;

namespace Contrastive.Host;

/// <summary>`contrastive inspect`: what a dataset holds.</summary>
internal static class InspectCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var cmd = new Command("inspect", "Describe a dataset: format, shards, samples, columns, labels and the class histogram.");
        var o = new CommandLineOptions(cmd);
        o.Add([OptionGroups.Data(required: true), .. OptionGroups.Columns, OptionGroups.SeriesColumns]);
        var json = o.Json("Print one JSON object.");
        cmd.SetAction(o, output, error, async (c, parse, ct) =>
        {
            var data = c.Bind<DataOptions>("Data");
            data.RequireOneSource("inspect");
            if (string.IsNullOrWhiteSpace(data.Uri)) throw new UsageException($"{c.NameOf("Data:Uri")} is required: the data to inspect (--data).");
            var series = data.SeriesColumns?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            var r = await InspectRun.RunAsync(data.Uri, data.ImageColumn, data.LabelColumn, ct, series, data.TextColumn, c.ObjectStore).ConfigureAwait(false);
            if (parse.GetValue(json)) c.Output.WriteLine(JsonSerializer.Serialize(r));
            else InspectRun.Print(r, c.Output);
            return Cli.Ok;
        });
        return cmd;
    }
}
