using System.Globalization;
using Contrastive.Batching;
using Contrastive.Ingest;
using TorchSharp;
using Contrastive.Training;
using Microsoft.Extensions.Logging;

namespace Contrastive.Host;

/// <summary>What a run says: its start lines, the status lines, the live display's line, and at the end its trace and report.</summary>
internal sealed partial class TrainRun
{
    /// <summary>Writes the trace and the report (from the --out folder's files, as `contrastive report` does); returns report.html's path, or null when there was nothing to report.</summary>
    private string? WriteProfile(IProcessGroup group, TraceRecorder? trace, TrainResult? result, string out_)
    {
        var profile = settings.Profile;
        try
        {
            if (trace is not null && profile.Trace is not null)
            {
                // Data-parallel runs: a trace per rank (rank 0 at the path given, rank r beside it as NAME.rankR.json).
                string file = group.Rank == 0 ? profile.Trace
                    : Path.Combine(Path.GetDirectoryName(profile.Trace) ?? "", $"{Path.GetFileNameWithoutExtension(profile.Trace)}.rank{group.Rank}{Path.GetExtension(profile.Trace)}");
                trace.WriteTo(file);
                log.LogInformation("Trace: {Path} ({Mb:F2} MB); open it in https://ui.perfetto.dev or chrome://tracing", Path.GetFullPath(file), new FileInfo(file).Length / 1e6);
            }
            if (group.Rank != 0) return null; // rank 0 keeps the run's metrics and writes its report
            if (!File.Exists(Path.Combine(out_, PipelineSampler.FileName)) && !File.Exists(Path.Combine(out_, "metrics.jsonl"))) return null;
            var report = ProfileReport.FromRunFolder(out_);
            if (result is not null)
            {
                var ic = System.Globalization.CultureInfo.InvariantCulture;
                var notes = new List<string>
                {
                    string.Create(ic, $"{result.Steps} steps, {result.Samples} samples in {result.Seconds:F1} s; final loss {result.FinalLoss?.ToString("F4", ic) ?? "n/a"}; the trainer waited for data {result.InputBound:P1} of the loop's time (input_bound {result.InputBound:F4}){(result.Interrupted ? "; stopped early" : "")}."),
                };
                if (result.KnnTop1 is { } k) notes.Add(string.Create(ic, $"kNN top-1 on the held-out split: trained {k:F4}, random init {result.KnnTop1RandomInit:F4}."));
                if (result.Retrieval is { } r && result.RetrievalRandomInit is { } r0)
                    notes.Add(string.Create(ic, $"Image-text retrieval on {r.Samples} held-out pairs: image→text R@1 {r.ImageToTextR1:F4}, R@5 {r.ImageToTextR5:F4}; text→image R@1 {r.TextToImageR1:F4}, R@5 {r.TextToImageR5:F4}; random init R@1 {r0.ImageToTextR1:F4} and {r0.TextToImageR1:F4}."));
                if (result.StoreRequests is { } requests)
                    notes.Add(string.Create(ic, $"Object storage: {requests} requests, {result.StoreRetries} retried, {result.BytesFetched / 1e6:F1} MB fetched{(result.CacheHits is { } hits ? $"; shard cache ({settings.Data.CacheDir}): {hits} hit(s), {result.CacheMisses} miss(es), {result.CacheBytes / 1e6:F1} MB on disk" : "")}."));
                if (result.ProbeTop1 is { } p) notes.Add(string.Create(ic, $"Linear probe top-1 on the held-out split: trained {p:F4}, random init {result.ProbeTop1RandomInit:F4}."));
                notes.AddRange(_setup);
                report = new ProfileReport
                {
                    Title = report.Title, Header = report.Header, Points = report.Points, Training = report.Training, Evaluations = report.Evaluations,
                    Consumer = report.Consumer, Notes = notes,
                };
            }
            string path = Path.Combine(out_, "report.html");
            report.WriteTo(path);
            if (profile.Report is not null) report.WriteTo(profile.Report);
            log.LogInformation("Report: {Path}{Verdict}", Path.GetFullPath(profile.Report ?? path), report.Verdict is { } v ? $" ({v.Headline})" : "");
            return Path.GetFullPath(path);
        }
        catch (Exception e)
        {
            // Best effort, in a finally: a report that cannot be written must not hide how the run itself ended.
            log.LogWarning("Could not write the run's trace or report: {Message}", e.Message);
            return null;
        }
    }

    /// <summary>The reasoning behind the run's choices (CPU split, precision, optimizer recipe, batch memory): Debug lines, and notes in the report.</summary>
    private readonly List<string> _setup = [];

    /// <summary>The start lines: what trains on what (one line each, to fit a terminal); the reasoning at Debug level and in the report.</summary>
    private void StartLines(IProcessGroup group, TrainData data, TrainModel model, ISampleProcessor processor, InputPipeline pipeline)
    {
        var (method, trainer, batching, training) = (settings.Method, model.Trainer, settings.Batching, settings.Training);
        log.LogInformation("Training {Method} ({Views}) on {Device}: {Model}", method.Name, Views(processor), model.Context.Device.type, ModelDescription(method, data.Channels));
        log.LogInformation("Batch {Batch}, {Workers} worker(s) ({Decoder}), {Threads} torch thread(s), {Precision}, {Optimizer} lr {Lr:g4}",
            batching.BatchSize, pipeline.Workers, pipeline.DecoderName, torch.get_num_threads(), trainer.Precision.Name, training.Optimizer, trainer.LearningRate);
        if (data.Decoded && DecoderFallbackNote(pipeline.DecoderName) is { Length: > 0 } fallback) log.LogInformation("{Fallback}", fallback);
        var ic = CultureInfo.InvariantCulture;
        _setup.Clear();
        _setup.Add($"CPU: {torch.get_num_threads()} torch thread(s) and {pipeline.Workers} worker(s){CpuSplit.Describe(training.Threads, batching.Workers, torch.get_num_threads(), pipeline.Workers, Environment.ProcessorCount)}.");
        _setup.Add($"Precision: {trainer.Precision}.");
        _setup.Add(string.Create(ic, $"Optimizer: {training.Optimizer}, peak lr {trainer.LearningRate:g4}, weight decay {trainer.WeightDecay:g3}{(trainer.Recipe is { } recipe ? $" ({recipe.Source} where not set)" : "")}{(trainer.ClipGradNorm > 0 ? $", gradient clip {trainer.ClipGradNorm:g3}" : "")}."));
        _setup.Add(string.Create(ic, $"Batch memory: {pipeline.Pool.TotalBytes / 1e6:F1} MB in {pipeline.Pool.Buffers} buffers."));
        foreach (var line in _setup) log.LogDebug("{Setup}", line);
        log.LogInformation("Data order: {Order}", ShuffleBuffer.Describe(data.Dataset, model.Order).Text);
        if (data.Captions is { } captions && trainer.Method is ClipMethod clip)
        {
            var c = (ClipOptions)settings.MethodOptions;
            log.LogInformation("Text tower: {Layers} blocks {Width} wide, {Heads} heads, context {Context} ({Tokenizer}, {Vocabulary:N0} ids); joint embedding {Embed}; logit scale {Scale:F2} (max {Max})",
                c.TextLayers, c.TextWidth, c.TextHeads, c.ContextLength, captions.Name, Contrastive.Training.Text.CaptionTokenizer.VocabularySize, c.EmbedDim, clip.LogitScale, c.MaxLogitScale);
        }
        if (group.WorldSize > 1)
            log.LogInformation("Data parallel: world size {World} ({Backend}), this is rank {Rank}; global batch {Global} ({Batch} per rank); gradients: {Transport}, {Elements:N0} values per step; BatchNorm {Norm}",
                group.WorldSize, group.Backend, group.Rank, trainer.GlobalBatchSize, batching.BatchSize, trainer.TransportNote, trainer.Method.Parameters.Sum(p => p.numel()),
                training.SyncBatchNorm ? "synchronised (global batch statistics)" : "per rank (--sync-batchnorm for global statistics)");
    }

    /// <summary>The report's header: what ran, with which settings.</summary>
    private ProfileHeader Header(TrainData data, ISampleProcessor processor, InputPipeline pipeline) => new()
    {
        Command = "train", Started = DateTimeOffset.UtcNow, Workers = pipeline.Workers, Decoder = pipeline.DecoderName,
        DecodeScaling = data.Decoded && settings.Augment.DecodeScaling, BatchSize = settings.Batching.BatchSize,
        ImageSize = data.TextOnly ? 0 : data.Images ? settings.Augment.Size : settings.Series.Length,
        Views = processor.ViewCount, ChunkQueue = settings.Batching.ChunkQueue, Prefetch = settings.Batching.Prefetch, Deterministic = settings.Batching.Deterministic,
        Data = data.Uri, Format = data.Dataset.Format, Model = ModelDescription(settings.Method, data.Channels),
    };

    /// <summary>What the Skia fallback costs, when auto found no libturbojpeg.</summary>
    private string DecoderFallbackNote(string decoder) =>
        decoder == "skia" && settings.Decoder.Name.Equals("auto", StringComparison.OrdinalIgnoreCase)
            ? "libturbojpeg not found, so Skia decodes: JPEG about 2.2x slower (docs/benchmarks.md); apt-get install libturbojpeg0"
            : "";

    private void StatusLine(LoopStatus s)
    {
        var o = settings.Training;
        string of = o.MaxSteps > 0 ? $"/{o.MaxSteps}" : "";
        string eta = s.EtaSeconds is { } e ? $", ETA {Duration(e)}" : "";
        log.LogInformation("step {Step}{Of} epoch {Epoch} loss {Loss:F4} lr {Lr:G3} | {Rate:F0} samples/s, waited for data {Wait:P0} | {Elapsed} elapsed{Eta}{Bad}",
            s.Step, of, s.Epoch, s.MeanLoss, s.LearningRate, s.SamplesPerSecond, s.WaitShare, Duration(s.Seconds), eta, s.BadSamples > 0 ? $" | bad samples {s.BadSamples}" : "");
        if (s.Input is not null) log.LogDebug("pipeline: {Pipeline} | batches: {Diversity}", s.Input, s.Diversity.Summary());
    }

    /// <summary>The live display's line: step of total, loss, rate, and (from the last status) waiting, bad samples and batch mix.</summary>
    private string LiveLine(long step, double loss, double samplesPerSecond, LoopStatus? status)
    {
        var o = settings.Training;
        string of = o.MaxSteps > 0 ? $"/{o.MaxSteps}" : "";
        string rest = status is null ? "" : $" · waited for data {status.WaitShare:P0}{(status.BadSamples > 0 ? $" · bad {status.BadSamples}" : "")} · epoch {status.Epoch}";
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"step {step}{of} · loss {loss:F4} · {samplesPerSecond:F0} samples/s{rest}");
    }

    /// <summary>A duration as a person reads it: 45s, 3m05s, 2h07m.</summary>
    internal static string Duration(double seconds)
    {
        var t = TimeSpan.FromSeconds(Math.Max(0, seconds));
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes}m{t.Seconds:D2}s" : $"{t.Seconds}s";
    }

    /// <summary>The networks in a few words, for the log and the report.</summary>
    private string ModelDescription(MethodRegistration method, int channels) => method.Data switch
    {
        MethodData.Images => $"{method.Name}, {settings.Training.Encoder}{EncoderDetail()} at {settings.Augment.Size}px",
        MethodData.Text => $"{method.Name}, a text transformer",
        _ => $"{method.Name}, windows of {channels} x {settings.Series.Length}",
    };

    /// <summary>The ConvNet's pooling, or a ResNet's stem and why (auto's choice says so).</summary>
    private string EncoderDetail()
    {
        var t = settings.Training;
        if (t.Encoder == "convnet") return $" (pooled {t.ConvNetPool}×{t.ConvNetPool})";
        if (!t.Encoder.StartsWith("resnet", StringComparison.Ordinal)) return "";
        bool small = t.SmallStem(settings.Augment.Size);
        string stem = small ? "small-image stem (3×3 stride 1, no max-pool)" : "ImageNet stem (7×7 stride 2, max-pool)";
        return string.Equals(t.Stem.Trim(), "auto", StringComparison.OrdinalIgnoreCase)
            ? $" ({stem}: --stem auto, views {(small ? "under" : "of at least")} {TrainingOptions.SmallStemBelow} px)"
            : $" ({stem}: --stem {t.Stem.Trim().ToLowerInvariant()})";
    }

    private static string Views(ISampleProcessor p) => p switch
    {
        CaptionOnlySampleProcessor => "captions only",
        ImageSampleProcessor { Policy: MultiCropViewPolicy mc } => $"2 global + {mc.ViewCount - 2} local views of {mc.LocalSize}px",
        ImageSampleProcessor i => $"{i.ViewCount} views",
        _ => "1 window",
    };
}
