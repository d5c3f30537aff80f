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

// Under an MPI launcher the output is the launcher's forwarded stream (a pseudo-terminal for each rank), not a person's
// terminal: no terminal control sequences (.NET's console would write keypad mode codes into --json output) and no live
// display. Set before the console is first used.
if (Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is not null || Environment.GetEnvironmentVariable("SLURM_STEP_ID") is not null)
    Environment.SetEnvironmentVariable("TERM", "dumb");
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
            root.Subcommands.Add(EmbedCommand(output, error));
            root.Subcommands.Add(DemoDataCommand(output, error));
            root.Subcommands.Add(BenchCommand(output, error));
            root.Subcommands.Add(InspectCommand(output));
            root.Subcommands.Add(PackCommand(output, error));
            root.Subcommands.Add(MethodsCommand(output));
            root.Subcommands.Add(ReportCommand(output));
            root.Subcommands.Add(ServeCommand());

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

        /// <summary>The profiling options bench and train share: a timeline trace, an HTML report, and the queue sizes the report's advice names.</summary>
        private static void AddProfileOptions(BoundOptions o, string reportNote)
        {
            o.Add<int?>("--prefetch", "Batching:Prefetch", "Finished batches that may wait for the consumer.");
            o.Add<int?>("--chunk-queue", "Batching:ChunkQueue", "Chunks (row groups) read ahead of the workers.");
            o.Add<string?>("--trace", "Profile:Trace", "Write a timeline trace (Chrome Trace Event JSON: Perfetto, chrome://tracing, speedscope) to FILE.");
            o.Add<double?>("--trace-seconds", "Profile:TraceSeconds", "Trace only the first N seconds.", "the whole run, thinned to stay under --trace-max-mb");
            o.Add<double?>("--trace-max-mb", "Profile:TraceMaxMb", "Size cap of the trace file in MB.");
            o.Add<string?>("--report", "Profile:Report", "Write an HTML report (plots, per-stage table, input- or compute-bound verdict) to FILE.", reportNote);
        }

        /// <summary>Writes the trace where --trace asked and says where it went.</summary>
        private static void WriteTrace(TraceRecorder? trace, ProfileOptions profile, TextWriter error)
        {
            if (trace is null || profile.Trace is null) return;
            trace.WriteTo(profile.Trace);
            var (kept, _) = trace.SpanCounts;
            error.WriteLine(System.FormattableString.Invariant(
                $"trace: {Path.GetFullPath(profile.Trace)} ({new FileInfo(profile.Trace).Length / 1e6:F2} MB, {kept} spans{(trace.Stride > 1 ? $", one time frame in {trace.Stride}" : "")}); open it in https://ui.perfetto.dev or chrome://tracing"));
        }

        private static Command ReportCommand(TextWriter output)
        {
            var cmd = new Command("report", "Write the HTML report (plots, per-stage table, input- or compute-bound verdict) of a finished or running training folder.");
            var o = new BoundOptions(cmd);
            o.Add<string?>("--run", "Report:Run", "A training run's --out folder (required).");
            o.Add<string?>("--output", "Report:Output", "Where to write the page.", "report.html in the run folder");
            cmd.SetAction(parse =>
            {
                var config = o.Configure(parse);
                var what = config.Bind<ReportCommandOptions>("Report");
                var report = ProfileReport.FromRunFolder(what.Run!, config.NameOf("Report:Run"));
                string path = what.Output ?? Path.Combine(what.Run!, "report.html");
                report.WriteTo(path);
                output.WriteLine($"report: {Path.GetFullPath(path)}");
                if (report.Verdict is { } v) output.WriteLine($"verdict: {v.Headline}");
                return Ok;
            });
            return cmd;
        }

        private static Command TrainCommand(TextWriter output, TextWriter error)
        {
            var cmd = new Command("train", "Train an encoder with a registered method, then score it against the same network at random init (kNN for images, a linear probe for series).");
            var o = TrainOptions(cmd);
            // Profiling writes files where the caller says: the command line's, not a service job's (jobs get report.html in their folder).
            AddProfileOptions(o, "report.html in --out only");
            var json = new Option<bool>("--json") { Description = "Print the result as one JSON object on the last line." };
            cmd.Options.Add(json);
            cmd.SetAction(async (parse, ct) => await TrainAsync(o.Configure(parse), parse.GetValue(json), output, error).ConfigureAwait(false));
            return cmd;
        }

        /// <summary>The train command's options, declared once: the command line and the service's job specs (serve) both take them.</summary>
        internal static BoundOptions TrainOptions(Command cmd)
        {
            var o = new BoundOptions(cmd);
            o.Add<string?>("--data", "Data:Uri", "Data: Parquet file, directory or glob; tar shards; an image folder; IDX; s3://bucket/prefix. Unset: the demo dataset (written on first use).");
            o.Add<string?>("--method", "Training:Method", $"Method: {MethodRegistry.Names} ('contrastive methods' describes them).");
            o.Add<string?>("--encoder", "Training:Encoder", "Encoder: convnet, resnet18, resnet34 or resnet50.");
            o.Add<int?>("--convnet-pool", "Training:ConvNetPool", "convnet: pool the last feature map to an N×N grid of features (1 = global average pooling).");
            o.Add<string?>("--out", "Training:Out", "Folder for checkpoints and metrics.");
            o.Add<long?>("--max-steps", "Training:MaxSteps", "Stop after N steps (0 = no step limit).");
            o.Add<double?>("--max-minutes", "Training:MaxMinutes", "Stop after M minutes (0 = no time limit).");
            o.Add<long?>("--until-step", "Training:UntilStep", "Checkpoint and stop at step K, keeping the whole run's schedule; continue with --resume (0 = none).");
            o.Add<int?>("--batch-size", "Batching:BatchSize", "Samples per batch (each with all its views).");
            o.Add<int?>("--image-size", "Augment:Size", "View side in pixels.");
            o.Add<int?>("--workers", "Batching:Workers", "Decode + augment workers.", "0 (cores - 1)");
            o.Add<string?>("--device", "Training:Device", "auto, cpu, cuda or cuda:N.");
            o.Add<long?>("--checkpoint-every", "Training:CheckpointEvery", "Checkpoint every N steps (0 = only at the end).");
            o.Flag("--resume", "Training:Resume", "Continue from the newest intact checkpoint in --out.");
            o.Add<long?>("--seed", "Training:Seed", "Run seed: initialisation and every augmentation draw.");
            o.Add<int?>("--threads", "Training:Threads", "Torch CPU threads (0 = all cores).");
            o.Flag("--deterministic", "Batching:Deterministic", "Deterministic batch composition (ordered assembly), for runs that resume exactly.");
            o.Add<int?>("--grad-cache-chunk", "Training:GradCacheChunk", "Gradient caching: encode each batch in chunks of N images (0 = off; simclr and supcon).");
            o.Flag("--sync-batchnorm", "Training:SyncBatchNorm", "Data-parallel runs (mpirun): BatchNorm statistics over the global batch instead of each rank's.");
            o.Add<int?>("--moco-queue", "Moco:Queue", "moco: keys in the queue of negatives.");
            o.Add<int?>("--local-views", "MultiCrop:LocalViews", "dino: local views per sample besides the 2 global ones.");
            o.Add<int?>("--text-width", "Clip:TextWidth", "clip: width of the text transformer.");
            o.Add<int?>("--text-layers", "Clip:TextLayers", "clip: blocks of the text transformer.");
            o.Add<int?>("--context-length", "Clip:ContextLength", "clip: token ids per caption (start and end included); longer captions are cut, keeping the end token.");
            o.Add<string?>("--precision", "Training:Precision", "auto (bf16 on CUDA, and on a CPU with native bf16 for ResNets; else fp32), fp32 or bf16: what encoder and heads compute in.");
            o.Add<string?>("--image-column", "Data:ImageColumn", "Image column of Parquet data.", "detected");
            o.Add<string?>("--label-column", "Data:LabelColumn", "Label column of Parquet data.", "detected");
            o.Add<string?>("--text-column", "Data:TextColumn", "Caption column of Parquet data (tar: key.txt; image folder: a .txt beside each image).", "detected");
            o.Add<int?>("--window", "Series:Length", "Series methods: window length in samples.");
            o.Add<string?>("--series-columns", "Data:SeriesColumns", "Series methods: list column(s) of time-series Parquet, comma-separated.", "detected");
            o.Add<string?>("--decoder", "Decoder:Name", "Image decoder: auto, turbojpeg, skia or imagesharp.");
            o.Add<int?>("--shuffle-buffer", "Data:ShuffleBufferSamples", "Shard data: mix samples across read units up to this many at a time (0 = one unit at a time).");
            return o;
        }

        /// <summary>Builds the generic host for a training run and runs it to completion or a stop signal.</summary>
        public static Task<int> TrainAsync(IDictionary<string, string?> overrides, bool json, TextWriter output, TextWriter error) =>
            TrainAsync(Settings.Build(overrides), json, output, error);

        /// <summary>Builds the generic host for a training run and runs it to completion or a stop signal.</summary>
        public static async Task<int> TrainAsync(CommandConfiguration config, bool json, TextWriter output, TextWriter error)
        {
            // Every section, the method's own included, is bound and validated before the host starts: a bad setting is one line naming it.
            var settings = RunSettings.Bind(config);
            var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
            {
                Args = [],
                ContentRootPath = AppContext.BaseDirectory,
            });
            builder.Configuration.AddConfiguration(config.Configuration);
            builder.Logging.ClearProviders();
            // Short lines on the CLI's stderr; Logging:LogLevel:Default Debug (or CONTRASTIVE_Logging__LogLevel__Default=Debug) adds the pipeline's per-stage figures.
            var minimum = Enum.TryParse<LogLevel>(config.Configuration["Logging:LogLevel:Default"], true, out var level) ? level : LogLevel.Information;
            // Data-parallel runs: rank 0 logs the run; the other ranks only warnings and errors (each still prints its result line).
            try { if (Contrastive.Training.LaunchEnvironment.Detect().Rank > 0 && minimum < LogLevel.Warning) minimum = LogLevel.Warning; }
            catch (Contrastive.Training.DistributedSetupException) { } // reported by the run itself
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
            if (outcome.Error is not null) return Report(outcome.Error, error);
            var r = outcome.Result!;
            if (json)
            {
                output.WriteLine(JsonSerializer.Serialize(r));
            }
            else
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
            return Ok; // a stop on request (Ctrl-C, SIGTERM) with its checkpoint written is a clean end
        }

        private static Command ServeCommand()
        {
            var cmd = new Command("serve", "Run the hosted training service: a job queue (SQLite in --state), a JSON API, a live status page and Prometheus metrics (docs/service.md).");
            var o = new BoundOptions(cmd);
            o.Add<string?>("--urls", "Serve:Urls", "Where to listen, separated by ';'; a non-loopback address needs --api-key-file.");
            o.Add<string?>("--state", "Serve:State", "State directory: the job database and one folder per job.");
            o.Add<string?>("--api-key-file", "Serve:ApiKeyFile", "File holding the API key every /api request must send as 'Authorization: Bearer KEY'.", "none (loopback only)");
            o.Add<int?>("--max-concurrent-jobs", "Serve:MaxConcurrentJobs", "Jobs trained at once.");
            o.Add<string?>("--checkpoint-prefix", "Serve:CheckpointPrefix", "s3://bucket/prefix: each job's checkpoints and metrics also go to PREFIX/jobs/ID.", "unset (the state directory only)");
            o.Add<double?>("--shutdown-timeout", "Serve:ShutdownTimeoutSeconds", "Seconds to wait on SIGTERM for running jobs to checkpoint.");
            o.Flag("--json-logs", "Serve:JsonLogs", "Console logs as one JSON object a line.");
            var roots = new Option<string[]>("--data-root")
            {
                Description = "A folder (or s3://bucket/prefix) job data must lie under; repeat for several. Default: none, so jobs are refused. [Serve:DataRoots]",
                AllowMultipleArgumentsPerToken = false,
            };
            cmd.Options.Add(roots);
            cmd.SetAction(async (parse, ct) =>
            {
                var given = parse.GetValue(roots) ?? [];
                var extra = given.Select((r, i) => (r, i)).ToDictionary(x => $"Serve:DataRoots:{x.i}", x => (string?)x.r);
                return await Contrastive.Host.Serve.ServeApp.RunAsync(o.Configure(parse, extra)).ConfigureAwait(false);
            });
            return cmd;
        }

        private static Command EvalCommand(TextWriter output, TextWriter error)
        {
            var cmd = new Command("eval", "Weighted kNN top-1 and a linear probe's top-1 of a checkpoint's encoder; the checkpoint's own method, encoder and image size.");
            var o = new BoundOptions(cmd);
            o.Add<string?>("--checkpoint", "Eval:Checkpoint", "A checkpoint file written by train (required).");
            o.Add<string?>("--train-data", "Eval:TrainData", "Labelled data whose features form the kNN bank (required).");
            o.Add<string?>("--test-data", "Eval:TestData", "Labelled data to classify (required).");
            o.Flag("--baselines", "Eval:Baselines", "Also score the architecture at random init and raw pixels (the evaluation view as floats).");
            o.Flag("--zero-shot", "Eval:ZeroShot", "Zero-shot classification of --test-data by class names, with an image-text checkpoint (clip); --train-data is then optional.");
            o.Add<string?>("--classes", "Eval:Classes", "Zero-shot: class names, comma-separated, in label order.");
            o.Add<string?>("--classes-file", "Eval:ClassesFile", "Zero-shot: a file with one class name per line, in label order.");
            o.Add<string?>("--templates", "Eval:Templates", "Zero-shot: prompt templates separated by |, each with {} for the class name (ensembled).");
            o.Add<int?>("--knn-k", "Evaluation:KnnK", "kNN neighbours.");
            o.Add<double?>("--knn-temperature", "Evaluation:KnnTemperature", "kNN temperature.");
            o.Add<double?>("--crop-fraction", "Evaluation:CropFraction", "Centre crop as a share of the shorter side before resizing to the checkpoint's image size (1 = whole image).");
            o.Add<string?>("--device", "Training:Device", "auto, cpu, cuda or cuda:N.");
            o.Add<int?>("--workers", "Batching:Workers", "Decode workers.", "0 (cores - 1)");
            o.Add<string?>("--decoder", "Decoder:Name", "Image decoder: auto, turbojpeg, skia or imagesharp.");
            var json = new Option<bool>("--json") { Description = "Print {\"knn_top1\": ...} as the last line." };
            cmd.Options.Add(json);
            cmd.SetAction(async (parse, ct) =>
            {
                var config = o.Configure(parse);
                var what = config.Bind<EvalCommandOptions>("Eval");
                var evaluation = config.Bind<EvaluationOptions>("Evaluation");
                var training = config.Bind<TrainingOptions>("Training");
                var batching = config.Bind<BatchingOptions>("Batching");
                ObjectStore.Options = config.Bind<ObjectStoreOptions>("ObjectStore");
                Func<IImageDecoder> decoders;
                try { decoders = RunSettings.BindDecoder(config).Factory(); }
                catch (InvalidOperationException e) { throw new UsageException(e.Message, e); }
                var given = RunSettings.GivenKeys(config.Configuration, "Evaluation");
                if (what.ZeroShot)
                {
                    var zero = await ZeroShotRun.RunAsync(what, evaluation, training.Device, batching, decoders, ct, new RunDisplay(error), given.Contains,
                        line => error.WriteLine(line)).ConfigureAwait(false);
                    EvalResult? knn = string.IsNullOrWhiteSpace(what.TrainData) ? null
                        : await EvalRun.RunAsync(what, evaluation, training.Device, batching, decoders, ct, new RunDisplay(error), given.Contains, line => error.WriteLine(line)).ConfigureAwait(false);
                    if (parse.GetValue(json))
                    {
                        var merged = JsonSerializer.SerializeToNode(zero)!.AsObject();
                        if (knn is not null)
                            foreach (var (k, v) in JsonSerializer.SerializeToNode(knn)!.AsObject()) merged[k] ??= v?.DeepClone();
                        output.WriteLine(merged.ToJsonString());
                    }
                    else
                    {
                        output.WriteLine(System.FormattableString.Invariant($"zero-shot top-1: {zero.Top1:F4}, top-5: {zero.Top5:F4} ({zero.Classes} classes, {zero.Templates} template(s), {zero.TestSamples} test images)"));
                        if (zero.Top1RandomInit is { } zr) output.WriteLine(System.FormattableString.Invariant($"random init: zero-shot top-1 {zr:F4}, top-5 {zero.Top5RandomInit:F4}"));
                        if (knn is not null) output.WriteLine(System.FormattableString.Invariant($"kNN top-1: {knn.KnnTop1:F4}\nlinear probe top-1: {knn.LinearTop1:F4}"));
                    }
                    return Ok;
                }
                var result = await EvalRun.RunAsync(what, evaluation, training.Device, batching, decoders, ct, new RunDisplay(error), given.Contains,
                    line => error.WriteLine(line)).ConfigureAwait(false);
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

        private static Command EmbedCommand(TextWriter output, TextWriter error)
        {
            var cmd = new Command("embed", "Write a checkpoint's embeddings of every sample (images, or captions with --text) with their keys to one Parquet file, in stored order.");
            var o = new BoundOptions(cmd);
            o.Add<string?>("--checkpoint", "Embed:Checkpoint", "A checkpoint file written by train (required).");
            o.Add<string?>("--data", "Data:Uri", "Data: a Parquet file, directory or glob, tar shards, an image folder, IDX or s3://bucket/prefix (required).");
            o.Add<string?>("--out", "Embed:Out", "The Parquet file to write: columns key, index, label, embedding (list<float>) and, with --text, text (required).");
            o.Flag("--text", "Embed:Text", "Embed the captions with the text tower of an image-text checkpoint (clip) instead of the images.");
            o.Add<int?>("--rows-per-row-group", "Embed:RowsPerRowGroup", "Rows per Parquet row group.", "as many as hold 32 MB of embeddings, at most 65536");
            o.Add<string?>("--image-column", "Data:ImageColumn", "Image column of Parquet data.", "detected");
            o.Add<string?>("--label-column", "Data:LabelColumn", "Label column of Parquet data.", "detected");
            o.Add<string?>("--text-column", "Data:TextColumn", "Caption column of Parquet data (tar: key.txt; image folder: a .txt beside each image).", "detected");
            o.Add<double?>("--crop-fraction", "Evaluation:CropFraction", "Centre crop as a share of the shorter side before resizing to the checkpoint's image size (1 = whole image).", "0.875; 1 for small images (at most 64 px)");
            o.Add<int?>("--batch-size", "Batching:BatchSize", "Samples embedded at a time.");
            o.Add<string?>("--device", "Training:Device", "auto, cpu, cuda or cuda:N.");
            o.Add<int?>("--workers", "Batching:Workers", "Decode workers.", "0 (cores - 1)");
            o.Add<string?>("--decoder", "Decoder:Name", "Image decoder: auto, turbojpeg, skia or imagesharp.");
            var json = new Option<bool>("--json") { Description = "Print {\"rows\": ..., \"dims\": ..., \"out\": ...} as the last line." };
            cmd.Options.Add(json);
            cmd.SetAction(async (parse, ct) =>
            {
                var config = o.Configure(parse);
                var what = config.Bind<EmbedCommandOptions>("Embed");
                var data = config.Bind<DataOptions>("Data");
                var evaluation = config.Bind<EvaluationOptions>("Evaluation");
                var training = config.Bind<TrainingOptions>("Training");
                var batching = config.Bind<BatchingOptions>("Batching");
                ObjectStore.Options = config.Bind<ObjectStoreOptions>("ObjectStore");
                Func<IImageDecoder> decoders;
                try { decoders = RunSettings.BindDecoder(config).Factory(); }
                catch (InvalidOperationException e) { throw new UsageException(e.Message, e); }
                var given = RunSettings.GivenKeys(config.Configuration, "Evaluation");
                var result = await EmbedRun.RunAsync(what, data, evaluation, training.Device, batching, decoders, ct, new RunDisplay(error), given.Contains,
                    line => error.WriteLine(line)).ConfigureAwait(false);
                if (parse.GetValue(json)) output.WriteLine(JsonSerializer.Serialize(result));
                else output.WriteLine($"{result.Rows} embeddings of {result.Dims} dims → {result.Out}{(result.Skipped > 0 ? $" ({result.Skipped} samples skipped: {(result.Kind == "text" ? "no caption" : "undecodable")})" : "")}");
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
            var cmd = new Command("pack", "Convert a dataset into Parquet or WebDataset shards, storing the image bytes as they are.");
            var o = new BoundOptions(cmd);
            o.Add<string?>("--input", "Pack:Input", "Any supported source: Parquet, tar shards or an image folder (required).");
            o.Add<string?>("--output", "Pack:Output", "Folder for the new shards (required).");
            o.Add<string?>("--format", "Pack:Format", "parquet (Hugging Face schema) or wds (WebDataset tar).");
            o.Add<double?>("--shard-size-mb", "Pack:ShardSizeMb", "Image bytes per shard, in MB.");
            o.Add<int?>("--rows-per-row-group", "Pack:RowsPerRowGroup", "Rows per Parquet row group.");
            var noShuffle = new Option<bool>("--no-shuffle") { Description = "Keep the input's order (sets Pack:Shuffle false). Default: rows are shuffled across the output." };
            cmd.Options.Add(noShuffle);
            cmd.SetAction(async (parse, ct) =>
            {
                var config = o.Configure(parse, parse.GetValue(noShuffle) ? new Dictionary<string, string?> { ["Pack:Shuffle"] = "false" } : null);
                var pack = config.Bind<PackOptions>("Pack");
                ObjectStore.Options = config.Bind<ObjectStoreOptions>("ObjectStore");
                IImageDataset source;
                try { source = await ImageDataset.OpenAsync(pack.Input!, ct: ct).ConfigureAwait(false); }
                catch (DataSourceException e) { throw new UsageException($"{config.NameOf("Pack:Input")}: {e.Message}", e); }
                var r = await ShardPacker.PackAsync(source, pack.Output!, pack.Format == "wds" ? ShardPacker.Format.WebDataset : ShardPacker.Format.Parquet,
                    pack.ShardSizeMb, pack.RowsPerRowGroup, error.WriteLine, ct, shuffle: pack.Shuffle, seed: pack.Seed).ConfigureAwait(false);
                output.WriteLine($"{r.Samples} samples ({r.Bytes / 1e6:F1} MB of image bytes) in {r.Shards} shard(s) under {Path.GetFullPath(pack.Output!)}" +
                    (r.SkippedEmpty > 0 ? $"; {r.SkippedEmpty} samples without image bytes skipped" : ""));
                return Ok;
            });
            return cmd;
        }

        private static Command InspectCommand(TextWriter output)
        {
            var cmd = new Command("inspect", "Describe a dataset: format, shards, samples, columns, labels and the class histogram.");
            var o = new BoundOptions(cmd);
            o.Add<string?>("--data", "Data:Uri", "Data: a Parquet file, directory or glob, tar shards, or an image folder (required).");
            o.Add<string?>("--image-column", "Data:ImageColumn", "Image column.", "detected");
            o.Add<string?>("--label-column", "Data:LabelColumn", "Label column.", "detected");
            o.Add<string?>("--text-column", "Data:TextColumn", "Caption column of Parquet data.", "detected");
            o.Add<string?>("--series-columns", "Data:SeriesColumns", "Time-series Parquet: the list column(s) holding the channels, comma-separated.", "detected");
            var json = new Option<bool>("--json") { Description = "Print one JSON object." };
            cmd.Options.Add(json);
            cmd.SetAction(async (parse, ct) =>
            {
                var config = o.Configure(parse);
                var data = config.Bind<DataOptions>("Data");
                ObjectStore.Options = config.Bind<ObjectStoreOptions>("ObjectStore");
                if (string.IsNullOrWhiteSpace(data.Uri)) throw new UsageException($"{config.NameOf("Data:Uri")} is required: the data to inspect (--data).");
                var series = data.SeriesColumns?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                var r = await InspectRun.RunAsync(data.Uri, data.ImageColumn, data.LabelColumn, ct, series, data.TextColumn).ConfigureAwait(false);
                if (parse.GetValue(json)) output.WriteLine(JsonSerializer.Serialize(r));
                else InspectRun.Print(r, output);
                return Ok;
            });
            return cmd;
        }

        private static Command BenchCommand(TextWriter output, TextWriter error)
        {
            var cmd = new Command("bench", "Measure the input pipeline's throughput per stage into a null or rate-limited consumer.");
            var o = new BoundOptions(cmd);
            o.Add<string?>("--data", "Data:Uri", "Data to read (file, directory, glob or s3:// prefix). Unset: the demo dataset.");
            o.Add<string?>("--method", "Training:Method", "Make the views this image method trains on (its view policy).");
            o.Add<int?>("--batch-size", "Batching:BatchSize", "Samples per batch.");
            o.Add<int?>("--workers", "Batching:Workers", "Decode + augment workers.", "0 (all cores: no trainer shares them)");
            o.Add<double?>("--seconds", "Bench:Seconds", "Measured seconds (after the warm-up).");
            o.Add<double?>("--warmup", "Bench:Warmup", "Seconds run before measuring, while pools and caches fill.", "15% of --seconds, 1 to 60 s");
            o.Add<double?>("--consumer-rate", "Bench:ConsumerRate", "Simulate a trainer taking IMAGES_PER_S.", "a null consumer");
            o.Add<int?>("--image-size", "Augment:Size", "View side in pixels.");
            o.Flag("--deterministic", "Batching:Deterministic", "Deterministic batch composition (ordered assembly).");
            o.Add<string?>("--stage", "Bench:Stage", "all (the whole pipeline) or ingest (reading alone: bytes handed on, no decode).");
            o.Flag("--trace-allocations", "Bench:TraceAllocations", "Sample managed allocations (GC AllocationTick events) and print the top types to stderr.");
            o.Add<string?>("--decoder", "Decoder:Name", "Image decoder: auto, turbojpeg, skia or imagesharp.");
            o.Add<int?>("--shuffle-buffer", "Data:ShuffleBufferSamples", "Shard data: mix samples across read units up to this many at a time (0 = one unit at a time).");
            o.Add<bool>("--captions", "Bench:Captions", "Read the captions and tokenize them in the workers into each batch's token plane, as a clip run does; --captions false: not even with --method clip.", "as the method does (clip only)");
            o.Add<string?>("--text-column", "Data:TextColumn", "Caption column of Parquet data, with captions (tar: key.txt; image folder: a .txt beside each image).", "detected");
            o.Add<int?>("--context-length", "Clip:ContextLength", "With captions: token ids per caption (start and end included), as clip's.");
            AddProfileOptions(o, "none");
            var json = new Option<bool>("--json") { Description = "Print the result as one JSON object on the last line." };
            cmd.Options.Add(json);
            cmd.SetAction(async (parse, ct) =>
            {
                var config = o.Configure(parse);
                var bench = config.Bind<BenchOptions>("Bench");
                var profile = config.Bind<ProfileOptions>("Profile");
                if (bench.Stage == "ingest" && (profile.Trace ?? profile.Report) is not null)
                    throw new UsageException($"{config.NameOf(profile.Trace is not null ? "Profile:Trace" : "Profile:Report")}: bench {config.NameOf("Bench:Stage")} ingest runs no pipeline to trace or report on; use --stage all");
                var training = config.Bind<TrainingOptions>("Training");
                var registration = MethodRegistry.Get(training.Method);
                if (registration.Data != MethodData.Images)
                    throw new UsageException($"{config.NameOf("Training:Method")}: {registration.Name} trains on {registration.Data.ToString().ToLowerInvariant()}; bench measures the image pipeline.");
                var methodOptions = config.Bind(registration);
                // The tokenizer the workers run: the method's own (clip), or with --captions clip's for a method that reads no text.
                var clip = MethodRegistry.Get("clip");
                var tokenizer = bench.Captions switch
                {
                    false => null,
                    true => registration.Captions(methodOptions) ?? clip.Captions(config.Bind(clip)),
                    null => registration.Captions(methodOptions),
                };
                string captionsBy = bench.Captions == true ? config.NameOf("Bench:Captions") : $"{config.NameOf("Training:Method")} {registration.Name}";
                if (bench.Stage == "ingest" && bench.Captions == true)
                    throw new UsageException($"{config.NameOf("Bench:Captions")}: bench {config.NameOf("Bench:Stage")} ingest hands the encoded bytes on and tokenizes nothing; use --stage all");
                var dataOptions = config.Bind<DataOptions>("Data");
                ObjectStore.Options = config.Bind<ObjectStoreOptions>("ObjectStore");
                Func<IImageDecoder> decoders;
                try { decoders = RunSettings.BindDecoder(config).Factory(); }
                catch (InvalidOperationException e) { throw new UsageException(e.Message, e); }
                string uri = tokenizer is null ? await DemoDataset.EnsureAsync(dataOptions, error.WriteLine, ct).ConfigureAwait(false)
                    : await DemoDataset.EnsureCaptionsAsync(dataOptions, error.WriteLine, ct).ConfigureAwait(false);
                using var sampler = bench.TraceAllocations ? new AllocationSampler() : null;
                var augment = config.Bind<SimClrViewOptions>("Augment");
                var views = new ViewSettings(augment, config.Bind<MultiCropViewOptions>("MultiCrop"));
                var policy = registration.ImageViews(methodOptions, views)!;
                var trace = profile.NewRecorder();
                var run = new BenchRun(uri, config.Bind<BatchingOptions>("Batching"), policy, dataOptions, bench.Seconds, bench.ConsumerRate, error, () => sampler?.Start(), bench.Warmup, decoders,
                    new RunDisplay(error), trace, augment.DecodeScaling, tokenizer, captionsBy, config.NameOf("Data:TextColumn"));
                bool ingest = bench.Stage == "ingest";
                var result = ingest ? await run.RunIngestAsync(ct).ConfigureAwait(false) : await run.RunAsync(ct).ConfigureAwait(false);
                WriteTrace(trace, profile, error);
                if (profile.Report is not null && run.Profile is { } measured)
                {
                    var report = new ProfileReport
                    {
                        Title = $"bench: {uri}", Header = measured.Header, Points = measured.Points, Consumer = bench.ConsumerRate is null ? null : "simulated trainer",
                        Notes = [System.FormattableString.Invariant($"Measured {result.Seconds:F1} s after a {result.WarmupSeconds:F0} s warm-up: {result.ImagesPerSec:F0} images/s, {result.AllocBytesPerImage:F0} B allocated an image, working set {result.WorkingSetStartMb:F0} -> {result.WorkingSetEndMb:F0} MB."),
                            .. result.Captions is { } t ? [System.FormattableString.Invariant($"Captions tokenized in the workers ({t.Tokenizer}, {t.Context}-id rows): {t.TokensPerCaption:F1} ids per caption on average; their time counts in the decode stage.")] : Array.Empty<string>()],
                    };
                    report.WriteTo(profile.Report);
                    error.WriteLine($"report: {Path.GetFullPath(profile.Report)}{(report.Verdict is { } v ? $" ({v.Bound}, bottleneck {v.Stage})" : "")}");
                }
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
            var cmd = new Command("demo-data", "Write a synthetic labelled dataset: images (10 classes, JPEG in Hugging Face-schema Parquet), captioned images or series.");
            var o = new BoundOptions(cmd);
            o.Add<string?>("--output", "Demo:Output", "Folder to write the shards into (required).");
            o.Add<string?>("--kind", "Demo:Kind", "images, captions (7 shapes in 8 colours, 2 sizes and 9 positions, each described in a sentence: Parquet with a text column) or series (6 classes of synthetic processes as time-series Parquet, for CPC).");
            o.Add<int?>("--count", "Demo:Count", "Number of images (or series).");
            o.Add<string?>("--layout", "Demo:Layout", "Images: parquet (Hugging Face-schema shards) or folder (an ImageFolder tree, one sub-folder per class).");
            o.Add<long?>("--seed", "Demo:Seed", "Seed; the same seed gives the same files.");
            o.Add<int?>("--width", "Demo:Width", "Fixed image width.", "random 64 to 128");
            o.Add<int?>("--height", "Demo:Height", "Fixed image height.", "random 64 to 128");
            o.Add<int?>("--quality", "Demo:Quality", "JPEG quality.");
            o.Add<int?>("--length", "Demo:Length", "Series only: samples per series.");
            cmd.SetAction(async (parse, ct) =>
            {
                var config = o.Configure(parse);
                var demo = config.Bind<DemoOptions>("Demo");
                string dir = demo.Output!;
                if (demo.Kind == "series")
                {
                    int sshards = await DemoSeriesGenerator.WriteAsync(dir, demo.Count, demo.Length, demo.Seed, p => error.WriteLine($"wrote {p}"), ct).ConfigureAwait(false);
                    output.WriteLine($"{demo.Count} series of {demo.Length} samples ({DemoSeriesGenerator.Classes} classes) in {sshards} shard(s) under {Path.GetFullPath(dir)}");
                    return Ok;
                }
                var look = new DemoImageGenerator.Look(demo.Width, demo.Height, demo.Quality);
                if (demo.Kind == "captions")
                {
                    if (demo.Layout != "parquet")
                        throw new UsageException($"{config.NameOf("Demo:Layout")}: captioned demo data is written as Parquet only (a text column beside the images), not '{demo.Layout}'.");
                    int cshards = await DemoCaptionGenerator.WriteAsync(dir, demo.Count, demo.Seed, p => error.WriteLine($"wrote {p}"), ct, look).ConfigureAwait(false);
                    DemoDataset.MarkComplete(dir, demo.Count, demo.Seed);
                    output.WriteLine($"{demo.Count} captioned images ({DemoCaptionGenerator.Classes} shapes) in {cshards} shard(s) under {Path.GetFullPath(dir)}");
                    return Ok;
                }
                if (demo.Layout == "folder")
                {
                    DemoDataset.WriteFolder(dir, demo.Count, demo.Seed, look, ct);
                    output.WriteLine($"{demo.Count} images in class folders under {Path.GetFullPath(dir)}");
                    return Ok;
                }
                int total = (demo.Count + DemoDataset.RowsPerShard - 1) / DemoDataset.RowsPerShard, written = 0;
                using var live = LiveProgress.Start(error, $"demo-data: {demo.Count} images", total);
                int shards = await DemoDataset.WriteAsync(dir, demo.Count, demo.Seed, p =>
                {
                    if (live is null) error.WriteLine($"wrote {p}");
                    else live.Update(++written, $"{Path.GetFileName(p)} written");
                }, ct, look).ConfigureAwait(false);
                DemoDataset.MarkComplete(dir, demo.Count, demo.Seed);
                output.WriteLine($"{demo.Count} images in {shards} shard(s) under {Path.GetFullPath(dir)}");
                return Ok;
            });
            return cmd;
        }
    }
}
