using System.CommandLine;

namespace Contrastive.Host;

/// <summary>`contrastive demo-data`: synthetic labelled images, captioned images or series.</summary>
internal static class DemoDataCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var cmd = new Command("demo-data", "Write a synthetic labelled dataset: images (10 classes, JPEG in Hugging Face-schema Parquet), captioned images or series.");
        var o = new CommandLineOptions(cmd);
        o.Add([
            new("--output", "Demo:Output", "Folder to write the shards into (required)."),
            new("--kind", "Demo:Kind", "images, captions (7 shapes in 8 colours, 2 sizes and 9 positions, each described in a sentence: Parquet with a text column) or series (6 classes of synthetic processes as time-series Parquet, for CPC)."),
            new("--count", "Demo:Count", "Number of images (or series)."),
            new("--layout", "Demo:Layout", "Images: parquet (Hugging Face-schema shards) or folder (an ImageFolder tree, one sub-folder per class)."),
            new("--seed", "Demo:Seed", "Seed; the same seed gives the same files."),
            new("--width", "Demo:Width", "Fixed image width.", "random 64 to 128"),
            new("--height", "Demo:Height", "Fixed image height.", "random 64 to 128"),
            new("--quality", "Demo:Quality", "JPEG quality."),
            new("--length", "Demo:Length", "Series only: samples per series."),
        ]);
        cmd.SetAction(o, output, error, (c, _, ct) => RunAsync(c, c.Bind<DemoOptions>("Demo"), ct));
        return cmd;
    }

    private static async Task<int> RunAsync(CommandContext c, DemoOptions demo, CancellationToken ct)
    {
        string dir = demo.Output!, full = Path.GetFullPath(dir);
        void Wrote(string path) => c.Say($"wrote {path}");
        var look = new DemoImageGenerator.Look(demo.Width, demo.Height, demo.Quality);
        switch (demo.Kind)
        {
            case "series":
                int series = await DemoSeriesGenerator.WriteAsync(dir, demo.Count, demo.Length, demo.Seed, Wrote, ct).ConfigureAwait(false);
                c.Output.WriteLine($"{demo.Count} series of {demo.Length} samples ({DemoSeriesGenerator.Classes} classes) in {series} shard(s) under {full}");
                return Cli.Ok;
            case "captions":
                if (demo.Layout != "parquet")
                    throw new UsageException($"{c.NameOf("Demo:Layout")}: captioned demo data is written as Parquet only (a text column beside the images), not '{demo.Layout}'.");
                int captioned = await DemoCaptionGenerator.WriteAsync(dir, demo.Count, demo.Seed, Wrote, ct, look).ConfigureAwait(false);
                DemoDataset.MarkComplete(dir, demo.Count, demo.Seed);
                c.Output.WriteLine($"{demo.Count} captioned images ({DemoCaptionGenerator.Classes} shapes) in {captioned} shard(s) under {full}");
                return Cli.Ok;
            case var _ when demo.Layout == "folder":
                DemoDataset.WriteFolder(dir, demo.Count, demo.Seed, look, ct);
                c.Output.WriteLine($"{demo.Count} images in class folders under {full}");
                return Cli.Ok;
        }
        int total = (demo.Count + DemoDataset.RowsPerShard - 1) / DemoDataset.RowsPerShard, written = 0;
        using var live = LiveProgress.Start(c.Error, $"demo-data: {demo.Count} images", total);
        int shards = await DemoDataset.WriteAsync(dir, demo.Count, demo.Seed, p =>
        {
            if (live is null) Wrote(p);
            else live.Update(++written, $"{Path.GetFileName(p)} written");
        }, ct, look).ConfigureAwait(false);
        DemoDataset.MarkComplete(dir, demo.Count, demo.Seed);
        c.Output.WriteLine($"{demo.Count} images in {shards} shard(s) under {full}");
        return Cli.Ok;
    }
}
