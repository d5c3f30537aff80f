using System.CommandLine;
using System.Text.Json;
using Contrastive.Batching;
using Contrastive.Training;

namespace Contrastive.Host;

/// <summary>`contrastive embed`: a checkpoint's embeddings of every sample, to Parquet.</summary>
internal static class EmbedCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var cmd = new Command("embed", "Write a checkpoint's embeddings of every sample (images, or captions with --text) with their keys to one Parquet file, in stored order.");
        var o = new CommandLineOptions(cmd);
        o.Add([
            new("--checkpoint", "Embed:Checkpoint", "A checkpoint file written by train (required)."),
            OptionGroups.Data(required: true),
            new("--out", "Embed:Out", "The Parquet file to write: columns key, index, label, embedding (list<float>) and, with --text, text (required)."),
            new("--text", "Embed:Text", "Embed the captions with the text tower of an image-text checkpoint (clip) instead of the images."),
            new("--rows-per-row-group", "Embed:RowsPerRowGroup", "Rows per Parquet row group.", "as many as hold 32 MB of embeddings, at most 65536"),
            .. OptionGroups.Columns,
            OptionGroups.CropFraction("0.875; 1 for small images (at most 64 px)"),
            new("--batch-size", "Batching:BatchSize", "Samples embedded at a time."),
            .. OptionGroups.Runtime("Decode workers."),
            OptionGroups.Decoder,
        ]);
        var json = o.Json("Print {\"rows\": ..., \"dims\": ..., \"out\": ...} as the last line.");
        cmd.SetAction(o, output, error, async (c, parse, ct) =>
        {
            var data = c.Bind<DataOptions>("Data");
            data.RequireOneSource("embed");
            var result = await EmbedRun.RunAsync(c.Bind<EmbedCommandOptions>("Embed"), data, c.Bind<EvaluationOptions>("Evaluation"),
                c.Bind<TrainingOptions>("Training").Device, c.Bind<BatchingOptions>("Batching"), c.Decoders(), ct, c.Display(), c.Given("Evaluation"), c.Say, c.ObjectStore).ConfigureAwait(false);
            if (parse.GetValue(json)) c.Output.WriteLine(JsonSerializer.Serialize(result));
            else c.Output.WriteLine($"{result.Rows} embeddings of {result.Dims} dims → {result.Out}{(result.Skipped > 0 ? $" ({result.Skipped} samples skipped: {(result.Kind == "text" ? "no caption" : "undecodable")})" : "")}");
            return Cli.Ok;
        });
        return cmd;
    }
}
