using System.CommandLine;
using Contrastive.Ingest;

namespace Contrastive.Host;

/// <summary>`contrastive pack`: a dataset converted into Parquet or WebDataset shards.</summary>
internal static class PackCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var cmd = new Command("pack", "Convert a dataset into Parquet or WebDataset shards, storing the image bytes as they are.");
        var o = new CommandLineOptions(cmd);
        o.Add([
            new OptionSpec("--input", "Pack:Input", "Any supported source: Parquet, tar shards or an image folder (required)."),
            new OptionSpec("--output", "Pack:Output", "Folder for the new shards (required)."),
            new OptionSpec("--format", "Pack:Format", "parquet (Hugging Face schema) or wds (WebDataset tar)."),
            new OptionSpec("--shard-size-mb", "Pack:ShardSizeMb", "Image bytes per shard, in MB."),
            new OptionSpec("--rows-per-row-group", "Pack:RowsPerRowGroup", "Rows per Parquet row group."),
        ]);
        var noShuffle = new Option<bool>("--no-shuffle") { Description = "Keep the input's order (sets Pack:Shuffle false). Default: rows are shuffled across the output." };
        cmd.Options.Add(noShuffle);
        cmd.SetAction(o, output, error, RunAsync, parse => parse.GetValue(noShuffle) ? new Dictionary<string, string?> { ["Pack:Shuffle"] = "false" } : null);
        return cmd;
    }

    private static async Task<int> RunAsync(CommandContext c, ParseResult parse, CancellationToken ct)
    {
        var pack = c.Bind<PackOptions>("Pack");
        IImageDataset source;
        try { source = await ImageDataset.OpenAsync(pack.Input!, null, null, null, ct, c.ObjectStore).ConfigureAwait(false); }
        catch (DataSourceException e) { throw new UsageException($"{c.NameOf("Pack:Input")}: {e.Message}", e); }
        var r = await ShardPacker.PackAsync(source, pack.Output!, pack.Format == "wds" ? ShardPacker.Format.WebDataset : ShardPacker.Format.Parquet,
            pack.ShardSizeMb, pack.RowsPerRowGroup, c.Say, ct, shuffle: pack.Shuffle, seed: pack.Seed).ConfigureAwait(false);
        c.Output.WriteLine($"{r.Samples} samples ({r.Bytes / 1e6:F1} MB of image bytes) in {r.Shards} shard(s) under {Path.GetFullPath(pack.Output!)}" +
            (r.SkippedEmpty > 0 ? $"; {r.SkippedEmpty} samples without image bytes skipped" : ""));
        return Cli.Ok;
    }
}
