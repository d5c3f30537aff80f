using System.CommandLine;
using System.Text.Json;
using Contrastive.Augment;
using Contrastive.Batching;
using Contrastive.Host;
using Contrastive.Ingest;
using Contrastive.Training;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

return await Cli.RunAsync(args);

namespace Contrastive.Host
{
    /// <summary>The `contrastive` command line. Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.</summary>
    public static class Cli
    {
        public const int Ok = 0, Failure = 1, Usage = 2;

        public static async Task<int> RunAsync(string[] args, TextWriter? stdout = null, TextWriter? stderr = null)
        {
            var output = stdout ?? Console.Out;
            var error = stderr ?? Console.Error;
            var root = new RootCommand("Contrastive.Pipeline: streaming contrastive self-supervised pretraining.");
            root.Subcommands.Add(TrainCommand(output, error));
            root.Subcommands.Add(EvalCommand(output, error));
            root.Subcommands.Add(DemoDataCommand(output, error));
            root.Subcommands.Add(BenchCommand(output, error));
            root.Subcommands.Add(InspectCommand(output));
            root.Subcommands.Add(PackCommand(output, error));
            root.Subcommands.Add(MethodsCommand(output));

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
                    if (Environment.GetEnvironmentVariable("CONTRASTIVE_DEBUG") == "1") error.WriteLine(e);
                    return Failure;
            }
        }

        private static Command TrainCommand(TextWriter output, TextWriter error)
        {
            var data = new Option<string?>("--data") { Description = "Data: a Parquet file, a directory or a glob. Default: the demo dataset under ./data/demo (written on first use)." };
            var method = new Option<string?>("--method") { Description = $"Method: {MethodRegistry.Names} ('contrastive methods' describes them). Default simclr." };
            var seriesLength = new Option<int?>("--window") { Description = "cpc: window length in samples (a multiple of 160). Default 6400." };
            var seriesColumnsTrain = new Option<string?>("--series-columns") { Description = "cpc: list column(s) of time-series Parquet, comma-separated (default: detected)." };
            var encoder = new Option<string?>("--encoder") { Description = "Encoder: convnet (default), resnet18, resnet34 or resnet50." };
            var outDir = new Option<string?>("--out") { Description = "Folder for checkpoints. Default runs/simclr." };
            var maxSteps = new Option<long?>("--max-steps") { Description = "Stop after N steps (0 = no limit)." };
            var maxMinutes = new Option<double?>("--max-minutes") { Description = "Stop after M minutes (0 = no limit). Default 3." };
            var untilStep = new Option<long?>("--until-step") { Description = "Checkpoint and stop at step K, keeping the whole run's schedule; continue with --resume." };
            var gradCache = new Option<int?>("--grad-cache-chunk") { Description = "Gradient caching: encode each batch in chunks of N images and combine their gradients into the full batch's (0 = off)." };
            var mocoQueue = new Option<int?>("--moco-queue") { Description = "moco: keys in the queue of negatives. Default 4096." };
            var localViews = new Option<int?>("--local-views") { Description = "dino: local (small) views per sample besides the 2 global ones. Default 6." };
            var deterministicBatches = new Option<bool>("--deterministic") { Description = "Deterministic batch composition (ordered assembly), for runs that resume exactly." };
            var batchSize = new Option<int?>("--batch-size") { Description = "Samples per batch (two views each). Default 128." };
            var imageSize = new Option<int?>("--image-size") { Description = "View side in pixels. Default 32." };
            var workers = new Option<int?>("--workers") { Description = "Decode + augment workers. Default cores - 1." };
            var device = new Option<string?>("--device") { Description = "auto, cpu or cuda. Default auto." };
            var checkpointEvery = new Option<long?>("--checkpoint-every") { Description = "Checkpoint every N steps. Default 200." };
            var resume = new Option<bool>("--resume") { Description = "Continue from the newest intact checkpoint in --out." };
            var seed = new Option<long?>("--seed") { Description = "Run seed. Default 0." };
            var threads = new Option<int?>("--threads") { Description = "Torch CPU threads (0 = all cores)." };
            var precision = new Option<string?>("--precision") { Description = "auto (bf16 on CUDA, fp32 on CPU), fp32 or bf16: what the encoder and heads compute in; weights, optimizer and losses stay fp32." };
            var imageColumn = new Option<string?>("--image-column") { Description = "Image column of Parquet data (default: detected)." };
            var labelColumn = new Option<string?>("--label-column") { Description = "Label column of Parquet data (default: detected)." };
            var json = new Option<bool>("--json") { Description = "Print the result as one JSON object on the last line." };
            var cmd = new Command("train", "Train an encoder with a contrastive method, then report kNN accuracy against a random-init encoder.")
            {
                data, method, encoder, outDir, maxSteps, maxMinutes, untilStep, batchSize, imageSize, workers, device, checkpointEvery, resume, seed, threads,
                deterministicBatches, gradCache, mocoQueue, localViews, precision, imageColumn, labelColumn, seriesLength, seriesColumnsTrain, json,
            };
            cmd.SetAction(async (parse, ct) =>
            {
                var overrides = new Dictionary<string, string?>();
                void Set<T>(Option<T> o, string key) { if (parse.GetResult(o) is { Implicit: false }) overrides[key] = Convert.ToString(parse.GetValue(o), System.Globalization.CultureInfo.InvariantCulture); }
                Set(data, "Data:Uri"); Set(method, "Training:Method"); Set(encoder, "Training:Encoder"); Set(outDir, "Training:Out");
                Set(maxSteps, "Training:MaxSteps"); Set(maxMinutes, "Training:MaxMinutes"); Set(batchSize, "Batching:BatchSize");
                Set(imageSize, "Augment:Size"); Set(workers, "Batching:Workers"); Set(device, "Training:Device");
                Set(checkpointEvery, "Training:CheckpointEvery"); Set(seed, "Training:Seed"); Set(threads, "Training:Threads");
                Set(imageColumn, "Data:ImageColumn"); Set(labelColumn, "Data:LabelColumn"); Set(untilStep, "Training:UntilStep"); Set(gradCache, "Training:GradCacheChunk"); Set(mocoQueue, "Moco:Queue");
                Set(localViews, "MultiCrop:LocalViews"); Set(precision, "Training:Precision");
                Set(seriesLength, "Series:Length"); Set(seriesColumnsTrain, "Data:SeriesColumns");
                if (parse.GetValue(resume)) overrides["Training:Resume"] = "true";
                if (parse.GetValue(deterministicBatches)) overrides["Batching:Deterministic"] = "true";
                if (overrides.TryGetValue("Training:Method", out var m) && m is not null) overrides["Training:Method"] = m.ToLowerInvariant();
                return await TrainAsync(overrides, parse.GetValue(json), output, error).ConfigureAwait(false);
            });
            return cmd;
        }

        /// <summary>Builds the generic host for a training run and runs it to completion or a stop signal.</summary>
        public static async Task<int> TrainAsync(IDictionary<string, string?> overrides, bool json, TextWriter output, TextWriter error)
        {
            var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
            {
                Args = [],
                ContentRootPath = AppContext.BaseDirectory,
            });
            Settings.AddSources(builder.Configuration, overrides);
            // Every section, the method's own included, is bound and validated before the host starts: a bad setting is one line naming it.
            var settings = RunSettings.Bind(builder.Configuration);
            builder.Logging.ClearProviders();
            builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
            builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
            builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMinutes(2));
            builder.Services.AddSingleton(settings);
            builder.Services.AddSingleton<RunOutcome>();
            builder.Services.AddHostedService<TrainingService>();

            IHost host;
            try
            {
                host = builder.Build();
            }
            catch (InvalidOperationException e) when (e.InnerException is FormatException or InvalidOperationException)
            {
                throw new UsageException($"configuration: {e.InnerException!.Message}", e);
            }
            using (host)
            {
                var outcome = host.Services.GetRequiredService<RunOutcome>();
                await host.RunAsync().ConfigureAwait(false);
                if (outcome.Error is not null) return Report(outcome.Error, error);
                var r = outcome.Result!;
                if (json)
                {
                    output.WriteLine(JsonSerializer.Serialize(r));
                }
                else
                {
                    if (r.ResumedFromStep is { } from) output.WriteLine($"resumed from step {from}");
                    output.WriteLine($"steps {r.Steps}, samples {r.Samples}, {r.Seconds:F1} s, final loss {r.FinalLoss?.ToString("F4") ?? "n/a"}{(r.Interrupted ? " (stopped early)" : "")}");
                    if (r.KnnTop1 is not null)
                        output.WriteLine($"kNN top-1 on the held-out split: trained {r.KnnTop1:F4}, random-init {r.KnnTop1RandomInit:F4}");
                    else
                        output.WriteLine("kNN: not evaluated (no labels, no held-out split, or the run was stopped)");
                    if (r.BadSamples > 0) output.WriteLine($"bad samples skipped: {r.BadSamples}");
                    output.WriteLine($"checkpoint: {r.Checkpoint ?? "(none)"}");
                }
                return Ok; // a stop on request (Ctrl-C, SIGTERM) with its checkpoint written is a clean end
            }
        }

        private static Command EvalCommand(TextWriter output, TextWriter error)
        {
            var checkpoint = new Option<string>("--checkpoint") { Description = "A checkpoint file written by train.", Required = true };
            var train = new Option<string>("--train-data") { Description = "Labelled data whose features form the kNN bank.", Required = true };
            var test = new Option<string>("--test-data") { Description = "Labelled data to classify.", Required = true };
            var k = new Option<int>("--knn-k") { Description = "Neighbours.", DefaultValueFactory = _ => 20 };
            var device = new Option<string>("--device") { Description = "auto, cpu or cuda.", DefaultValueFactory = _ => "auto" };
            var workers = new Option<int>("--workers") { Description = "Decode workers (0 = cores - 1).", DefaultValueFactory = _ => 0 };
            var baselines = new Option<bool>("--baselines") { Description = "Also score the architecture at random init and raw pixels (the evaluation view as floats)." };
            var crop = new Option<double>("--crop-fraction") { Description = "Centre crop as a share of the shorter side before resizing to the run's image size (1 = whole image).", DefaultValueFactory = _ => 0.875 };
            var json = new Option<bool>("--json") { Description = "Print {\"knn_top1\": ...} as the last line." };
            var cmd = new Command("eval", "Weighted kNN top-1 (k neighbours, cosine, T = 0.1) and a linear probe's top-1 of a checkpoint's encoder.")
                { checkpoint, train, test, k, device, workers, baselines, crop, json };
            cmd.SetAction(async (parse, ct) =>
            {
                if (parse.GetValue(k) < 1) throw new UsageException("--knn-k must be at least 1.");
                var batching = new BatchingOptions { Workers = parse.GetValue(workers) };
                var result = await EvalRun.RunAsync(parse.GetValue(checkpoint)!, parse.GetValue(train)!, parse.GetValue(test)!, parse.GetValue(k), 0.1,
                    parse.GetValue(device)!, batching, ct, baselines: parse.GetValue(baselines), cropFraction: parse.GetValue(crop)).ConfigureAwait(false);
                if (parse.GetValue(json)) output.WriteLine(JsonSerializer.Serialize(result));
                else
                {
                    output.WriteLine(System.FormattableString.Invariant($"kNN top-1: {result.KnnTop1:F4}\nlinear probe top-1: {result.LinearTop1:F4}"));
                    if (result.KnnTop1RandomInit is { } kr)
                        output.WriteLine(System.FormattableString.Invariant(
                            $"random init: kNN {kr:F4}, linear {result.LinearTop1RandomInit:F4}\nraw pixels:  kNN {result.KnnTop1Pixels:F4}, linear {result.LinearTop1Pixels:F4}"));
                    output.WriteLine($"({result.TrainSamples} train, {result.TestSamples} test samples)");
                }
                return Ok;
            });
            return cmd;
        }

        private static Command MethodsCommand(TextWriter output)
        {
            var json = new Option<bool>("--json") { Description = "Print {\"methods\":[...]} as one JSON object." };
            var cmd = new Command("methods", "List the registered methods: data, views, label needs and the defaults of their options.") { json };
            cmd.SetAction(parse =>
            {
                var methods = MethodRegistry.All;
                if (parse.GetValue(json))
                {
                    var list = methods.Select(m => new Dictionary<string, object?>
                    {
                        ["name"] = m.Name, ["data"] = m.Data.ToString().ToLowerInvariant(), ["views"] = m.ViewsDescription, ["needs_labels"] = m.NeedsLabels,
                        ["section"] = m.Section, ["grad_cache"] = m.SupportsGradCache, ["summary"] = m.Summary, ["defaults"] = m.DefaultsJson(),
                    });
                    output.WriteLine(JsonSerializer.Serialize(new { methods = list }));
                    return Ok;
                }
                foreach (var m in methods)
                {
                    output.WriteLine($"{m.Name} ({m.Data.ToString().ToLowerInvariant()}{(m.NeedsLabels ? ", needs labels" : "")}): {m.Summary}");
                    output.WriteLine($"  views: {m.ViewsDescription}");
                    var defaults = string.Join(", ", m.DefaultsJson().EnumerateObject().Select(p => $"{p.Name} {p.Value.GetRawText()}"));
                    output.WriteLine($"  options (section {m.Section}): {defaults}");
                }
                return Ok;
            });
            return cmd;
        }

        private static Command PackCommand(TextWriter output, TextWriter error)
        {
            var input = new Option<string>("--input") { Description = "Any supported source: Parquet, tar shards or an image folder.", Required = true };
            var outDir = new Option<string>("--output") { Description = "Folder for the new shards.", Required = true };
            var format = new Option<string>("--format") { Description = "parquet (Hugging Face schema) or wds (WebDataset tar).", DefaultValueFactory = _ => "parquet" };
            format.AcceptOnlyFromAmong("parquet", "wds");
            var shardSize = new Option<double>("--shard-size-mb") { Description = "Image bytes per shard.", DefaultValueFactory = _ => 256 };
            var rowGroup = new Option<int>("--rows-per-row-group") { Description = "Rows per Parquet row group.", DefaultValueFactory = _ => 100 };
            var cmd = new Command("pack", "Convert a dataset into Parquet or WebDataset shards, storing the image bytes as they are.") { input, outDir, format, shardSize, rowGroup };
            cmd.SetAction(async (parse, ct) =>
            {
                if (parse.GetValue(shardSize) <= 0) throw new UsageException("--shard-size-mb must be positive.");
                if (parse.GetValue(rowGroup) < 1) throw new UsageException("--rows-per-row-group must be at least 1.");
                IImageDataset source;
                try { source = await ImageDataset.OpenAsync(parse.GetValue(input)!, ct: ct).ConfigureAwait(false); }
                catch (DataSourceException e) { throw new UsageException($"--input: {e.Message}", e); }
                var r = await ShardPacker.PackAsync(source, parse.GetValue(outDir)!, parse.GetValue(format) == "wds" ? ShardPacker.Format.WebDataset : ShardPacker.Format.Parquet,
                    parse.GetValue(shardSize), parse.GetValue(rowGroup), error.WriteLine, ct).ConfigureAwait(false);
                output.WriteLine($"{r.Samples} samples ({r.Bytes / 1e6:F1} MB of image bytes) in {r.Shards} shard(s) under {Path.GetFullPath(parse.GetValue(outDir)!)}" +
                    (r.SkippedEmpty > 0 ? $"; {r.SkippedEmpty} samples without image bytes skipped" : ""));
                return Ok;
            });
            return cmd;
        }

        private static Command InspectCommand(TextWriter output)
        {
            var data = new Option<string>("--data") { Description = "Data: a Parquet file, directory or glob, or an image folder.", Required = true };
            var imageColumn = new Option<string?>("--image-column") { Description = "Image column (default: detected)." };
            var labelColumn = new Option<string?>("--label-column") { Description = "Label column (default: detected)." };
            var seriesColumns = new Option<string?>("--series-columns") { Description = "Time-series Parquet: the list column(s) holding the channels, comma-separated (default: detected)." };
            var json = new Option<bool>("--json") { Description = "Print one JSON object." };
            var cmd = new Command("inspect", "Describe a dataset: format, shards, samples, columns, labels and the class histogram.") { data, imageColumn, labelColumn, seriesColumns, json };
            cmd.SetAction(async (parse, ct) =>
            {
                var series = parse.GetValue(seriesColumns)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                var r = await InspectRun.RunAsync(parse.GetValue(data)!, parse.GetValue(imageColumn), parse.GetValue(labelColumn), ct, series).ConfigureAwait(false);
                if (parse.GetValue(json)) output.WriteLine(JsonSerializer.Serialize(r));
                else InspectRun.Print(r, output);
                return Ok;
            });
            return cmd;
        }

        private static Command BenchCommand(TextWriter output, TextWriter error)
        {
            var data = new Option<string?>("--data") { Description = "Data to read (file, directory or glob). Default: the demo dataset under ./data/demo." };
            var method = new Option<string>("--method") { Description = "Make the views this image method trains on (its view policy).", DefaultValueFactory = _ => "simclr" };
            var batchSize = new Option<int>("--batch-size") { Description = "Samples per batch.", DefaultValueFactory = _ => 256 };
            var workers = new Option<int?>("--workers") { Description = "Decode + augment workers. Default: all cores (no trainer shares them)." };
            var seconds = new Option<double>("--seconds") { Description = "Measured seconds (after the warm-up).", DefaultValueFactory = _ => 20 };
            var warmup = new Option<double?>("--warmup") { Description = "Seconds run before measuring, while pools and caches fill. Default: 15% of --seconds, 1 to 60 s." };
            var rate = new Option<double?>("--consumer-rate") { Description = "Simulate a trainer taking IMAGES_PER_S; default: a null consumer." };
            var imageSize = new Option<int?>("--image-size") { Description = "View side in pixels (default: Augment:Size, 32)." };
            var deterministic = new Option<bool>("--deterministic") { Description = "Deterministic batch composition (ordered assembly)." };
            var json = new Option<bool>("--json") { Description = "Print the result as one JSON object on the last line." };
            var traceAlloc = new Option<bool>("--trace-allocations") { Description = "Sample managed allocations (GC AllocationTick events) and print the top types to stderr." };
            var stage = new Option<string>("--stage") { Description = "all (the whole pipeline) or ingest (reading alone: bytes handed on, no decode).", DefaultValueFactory = _ => "all" };
            stage.AcceptOnlyFromAmong("all", "ingest");
            var cmd = new Command("bench", "Measure the input pipeline's throughput per stage into a null or rate-limited consumer.")
            {
                data, method, batchSize, workers, seconds, warmup, rate, imageSize, deterministic, stage, traceAlloc, json,
            };
            cmd.SetAction(async (parse, ct) =>
            {
                var registration = MethodRegistry.Find(parse.GetValue(method))
                    ?? throw new UsageException($"--method: '{parse.GetValue(method)}' is not registered; use one of {MethodRegistry.Names}.");
                if (registration.Data != MethodData.Images)
                    throw new UsageException($"--method: {registration.Name} trains on {registration.Data.ToString().ToLowerInvariant()}; bench measures the image pipeline.");
                if (parse.GetValue(seconds) <= 0) throw new UsageException("--seconds must be positive.");
                if (parse.GetValue(warmup) is < 0) throw new UsageException("--warmup must not be negative.");
                if (parse.GetValue(rate) is { } r && r <= 0) throw new UsageException("--consumer-rate must be positive.");
                var overrides = new Dictionary<string, string?> { ["Batching:BatchSize"] = parse.GetValue(batchSize).ToString(System.Globalization.CultureInfo.InvariantCulture) };
                if (parse.GetValue(workers) is { } w) overrides["Batching:Workers"] = w.ToString(System.Globalization.CultureInfo.InvariantCulture);
                if (parse.GetValue(imageSize) is { } s) overrides["Augment:Size"] = s.ToString(System.Globalization.CultureInfo.InvariantCulture);
                if (parse.GetValue(deterministic)) overrides["Batching:Deterministic"] = "true";
                if (parse.GetValue(data) is { } d) overrides["Data:Uri"] = d;
                var config = Settings.Build(overrides);
                var dataOptions = Settings.Bind<DataOptions>(config, "Data");
                string uri = await DemoDataset.EnsureAsync(dataOptions, error.WriteLine, ct).ConfigureAwait(false);
                using var sampler = parse.GetValue(traceAlloc) ? new AllocationSampler() : null;
                var views = new ViewSettings(Settings.Bind<SimClrViewOptions>(config, "Augment"), Settings.Bind<MultiCropViewOptions>(config, "MultiCrop"));
                var policy = registration.ImageViews(Settings.Bind(config, registration), views)!;
                var run = new BenchRun(uri, Settings.Bind<BatchingOptions>(config, "Batching"), policy,
                    parse.GetValue(seconds), parse.GetValue(rate), error, () => sampler?.Start(), parse.GetValue(warmup));
                bool ingest = parse.GetValue(stage) == "ingest";
                var result = ingest ? await run.RunIngestAsync(ct).ConfigureAwait(false) : await run.RunAsync(ct).ConfigureAwait(false);
                if (parse.GetValue(json)) output.WriteLine(JsonSerializer.Serialize(result));
                else if (ingest) output.WriteLine(System.FormattableString.Invariant(
                    $"ingest: {result.ImagesPerSec:F0} samples/s, {result.StageRates["read_mb_per_sec"]:F1} MB/s ({result.StageRates["mean_image_bytes"]:F0} B each), {result.AllocBytesPerImage:F0} B allocated per sample, over {result.Seconds:F1} s"));
                else BenchRun.Print(result, output);
                if (sampler is not null)
                {
                    error.WriteLine("allocations sampled in the measured window (type: bytes):");
                    foreach (var (type, bytes) in sampler.Top(15)) error.WriteLine($"  {type}: {bytes / 1e6:F1} MB");
                }
                return Ok;
            });
            return cmd;
        }

        private static Command DemoDataCommand(TextWriter output, TextWriter error)
        {
            var outDir = new Option<string>("--output") { Description = "Folder to write the Parquet shards into.", Required = true };
            var count = new Option<int>("--count") { Description = "Number of images.", DefaultValueFactory = _ => 8000 };
            var seed = new Option<long>("--seed") { Description = "Seed; the same seed gives the same files.", DefaultValueFactory = _ => 0 };
            var width = new Option<int?>("--width") { Description = "Fixed image width (default: random 64 to 128)." };
            var height = new Option<int?>("--height") { Description = "Fixed image height (default: random 64 to 128)." };
            var quality = new Option<int>("--quality") { Description = "JPEG quality.", DefaultValueFactory = _ => 90 };
            var kind = new Option<string>("--kind") { Description = "images, or series (6 classes of synthetic processes as time-series Parquet, for CPC).", DefaultValueFactory = _ => "images" };
            kind.AcceptOnlyFromAmong("images", "series");
            var length = new Option<int>("--length") { Description = "Series only: samples per series.", DefaultValueFactory = _ => 16000 };
            var cmd = new Command("demo-data", "Write a synthetic labelled dataset: images (10 classes, JPEG in Hugging Face-schema Parquet) or series.")
                { outDir, count, seed, width, height, quality, kind, length };
            cmd.SetAction(async (parse, ct) =>
            {
                int n = parse.GetValue(count);
                if (n < 1) throw new UsageException("--count must be at least 1.");
                if (parse.GetValue(kind) == "series")
                {
                    if (parse.GetValue(length) is < 16 or > 10_000_000) throw new UsageException("--length must be 16 to 10000000.");
                    string sdir = parse.GetValue(outDir)!;
                    int sshards = await DemoSeriesGenerator.WriteAsync(sdir, n, parse.GetValue(length), parse.GetValue(seed), p => error.WriteLine($"wrote {p}"), ct).ConfigureAwait(false);
                    output.WriteLine($"{n} series of {parse.GetValue(length)} samples ({DemoSeriesGenerator.Classes} classes) in {sshards} shard(s) under {Path.GetFullPath(sdir)}");
                    return Ok;
                }
                if (parse.GetValue(width) is < 8 or > 8192) throw new UsageException("--width must be 8 to 8192.");
                if (parse.GetValue(height) is < 8 or > 8192) throw new UsageException("--height must be 8 to 8192.");
                if (parse.GetValue(quality) is < 1 or > 100) throw new UsageException("--quality must be 1 to 100.");
                var look = new DemoImageGenerator.Look(parse.GetValue(width), parse.GetValue(height), parse.GetValue(quality));
                string dir = parse.GetValue(outDir)!;
                int shards = await DemoDataset.WriteAsync(dir, n, parse.GetValue(seed), p => error.WriteLine($"wrote {p}"), ct, look).ConfigureAwait(false);
                DemoDataset.MarkComplete(dir, n, parse.GetValue(seed));
                output.WriteLine($"{n} images in {shards} shard(s) under {Path.GetFullPath(dir)}");
                return Ok;
            });
            return cmd;
        }
    }
}
