using System.Diagnostics;
using Contrastive.Batching;
using Contrastive.Ingest;
using Contrastive.Training;
using Microsoft.Extensions.Logging;
using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Host;

/// <summary>
/// One training run of any registered method, start to end: open the data (making the demo set if none was named),
/// resume if asked, stream batches of the method's views through the input pipeline into the shared
/// <see cref="TrainingLoop"/> until a limit or a stop request, checkpoint, then evaluate the trained against the
/// random-init network on the held-out split (kNN for images, a linear probe for series).
/// </summary>
public sealed class TrainRun(RunSettings settings, ILogger log, RunDisplay? display = null)
{
    private const int MetricsWindow = 20;

    /// <summary>What this run records as the holder of its folder's lock (default: this process's command line).</summary>
    public string? LockPurpose { get; init; }

    /// <summary>With an s3:// --out: the local working folder (default TMPDIR/contrastive-s3/bucket/prefix).</summary>
    public string? LocalFolder { get; init; }

    /// <summary>
    /// Whether the run joins the world an MPI launcher started (data-parallel, the default for `train`); false: always one
    /// process, whatever the environment says (the service's jobs).
    /// </summary>
    public bool JoinLauncherWorld { get; init; } = true;

    /// <summary>Called after every step with (step, loss), from the training thread: live figures for a front end.</summary>
    public Action<long, double>? OnStep { get; init; }

    /// <summary>Called with each periodic status (every Training:LogEverySeconds), from the training thread.</summary>
    public Action<LoopStatus>? OnStatus { get; init; }

    /// <summary>
    /// The run, then its trace (with --trace) and its report: report.html in --out (and where --report says) at the end of
    /// every run. A data-parallel rank that fails ends the whole job.
    /// </summary>
    public async Task<TrainResult> RunAsync(CancellationToken stop)
    {
        var group = JoinLauncherWorld ? OpenGroup(settings.Data) : SingleProcessGroup.Instance;
        var trace = settings.Profile.NewRecorder();
        TrainResult? result = null;
        string outDir = settings.Training.Out;
        bool started = false; // the folder is this run's (a refused run writes nothing there, not even a report)
        try
        {
            // --out s3://bucket/prefix: rank 0 works in a local folder and copies each checkpoint (and the metrics) to the bucket.
            var remote = group.Rank == 0 && ObjectStore.IsS3(settings.Training.Out)
                ? new S3RunFolder(settings.Training.Out, settings.Training.KeepCheckpoints, log, LocalFolder) : null;
            outDir = remote?.LocalFolder ?? settings.Training.Out;
            // One writer per run folder, held until the run ends (a second train on the folder is refused, naming this
            // process). Data-parallel ranks other than 0 write nothing there.
            using (var folderLock = group.Rank == 0 ? RunFolderLock.Acquire(outDir, $"--out {settings.Training.Out}", LockPurpose) : null)
            {
                started = true;
                if (remote is not null && settings.Training.Resume) await remote.FetchForResumeAsync(stop).ConfigureAwait(false);
                result = await RunLockedAsync(group, trace, outDir, remote, stop).ConfigureAwait(false);
                if (remote is not null)
                {
                    remote.UploadMetrics(); // with the evaluation's rows
                    result = result with { Checkpoint = result.Checkpoint is null ? null : remote.UriOf(result.Checkpoint) };
                }
            }
        }
        catch (Exception e) when (group is MpiProcessGroup mpi)
        {
            // The other ranks would wait for this one in their next collective: end the whole job, saying why.
            log.LogCritical("Rank {Rank} of {World} failed: {Message}. Ending every rank (MPI_Abort).", group.Rank, group.WorldSize, e.Message);
            Console.Error.Flush();
            mpi.Abort(e is UsageException ? 2 : 1);
            throw;
        }
        finally
        {
            if (started)
            {
                string? report = WriteProfile(group, trace, result, outDir);
                if (result is not null) result = result with { Report = report };
            }
        }
        group.Dispose();
        return result;
    }

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
                if (result.ProbeTop1 is { } p) notes.Add(string.Create(ic, $"Linear probe top-1 on the held-out split: trained {p:F4}, random init {result.ProbeTop1RandomInit:F4}."));
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

    private async Task<TrainResult> RunLockedAsync(IProcessGroup group, TraceRecorder? trace, string outDir, S3RunFolder? remote, CancellationToken stop)
    {
        var (data, training, batching) = (settings.Data, settings.Training, settings.Batching);
        bool lead = group.Rank == 0;
        var method = settings.Method;
        // Text-only methods (simcse) read image datasets' captions: "images" here means the image datasets, decoded or not.
        bool textOnly = method.Data == MethodData.Text, images = method.Data == MethodData.Images || textOnly;
        // Methods that read captions (clip): the tokenizer the workers run, and chunks read with their captions.
        var captions = method.Captions(settings.MethodOptions);
        // Rank 0 opens the data first (writing the demo set when none was named); the others follow once it has.
        if (group.Rank > 0) group.Barrier();
        var (dataset, channels, uri) = await OpenDataAsync(images, captions is not null, stop).ConfigureAwait(false);
        if (group.Rank == 0) group.Barrier();
        log.LogInformation("Data {Uri}: {Format}, {Shards} shard(s), {Samples} samples{Channels}, columns {Columns}, labels: {Labels}",
            uri, dataset.Format, dataset.ShardCount, dataset.SampleCount, images ? "" : $" of {channels} channel(s)",
            string.Join(", ", dataset.Columns.Select(c => $"{c.Key} = {c.Value}")), dataset.HasLabels ? "yes" : "none");
        if (method.NeedsLabels && !dataset.HasLabels)
            throw new UsageException($"--method {method.Name} needs labels, and the data at '{uri}' has none ({string.Join(", ", dataset.Columns.Select(c => $"{c.Key} = {c.Value}"))}).");
        if (captions is not null) CaptionData.Require(dataset, $"--method {method.Name} trains on {(textOnly ? "captions" : "images with captions")}", "--text-column");
        if (images && !textOnly && await ImageShape.ProbeAsync(dataset, Decoders(), stop).ConfigureAwait(false) is { } shape)
            log.LogInformation("{Defaults}", DataDefaults.Describe(shape, DataDefaults.ForTraining(shape, settings.Augment, settings.Evaluation, settings.IsGiven)));

        if (training.Threads > 0) torch.set_num_threads(training.Threads);
        var device = TorchDevice.Resolve(training.Device);
        var split = dataset.HasLabels ? new HoldoutSplit(training.HoldoutFraction) : HoldoutSplit.None;
        var context = new MethodContext(training, settings.MethodOptions, device, textOnly ? 0 : images ? settings.Augment.Size : settings.Series.Length, channels) { Group = group };
        ContrastiveTrainer trainer;
        try { trainer = new ContrastiveTrainer(method, context, batching.BatchSize); }
        catch (ArgumentException e) { throw new UsageException(e.Message, e); }
        using var _ = trainer;
        var store = new CheckpointStore(outDir, training.KeepCheckpoints) { Written = remote is null ? null : remote.Upload };

        ReadCursor? cursor = null;
        int epoch = 0;
        long? resumedFrom = null;
        var (rank, world) = group.WorldSize > 1 ? (group.Rank, group.WorldSize) : (data.Rank, data.WorldSize);
        var order = data.WithBuffer(new ReadPlan(0, training.Seed, Shuffle: true, split, Rank: rank, WorldSize: world) { Captions = captions is not null });
        long[]? resumedOrder = null; // the resumed epoch is read in the order its cursor was made in
        ReadPlan PlanFor(int e) => cursor is { } c && e == c.Epoch && resumedOrder is { } ro
            ? order with { Epoch = e, ShuffleBufferSamples = (int)ro[0], ShuffleBufferBytes = ro[1] }
            : order with { Epoch = e };
        trainer.ShuffleBuffer = e => [PlanFor(e).ShuffleBufferSamples, PlanFor(e).ShuffleBufferBytes];
        if (training.Resume)
        {
            if (trainer.ResumeLatest(store, skipped => log.LogWarning("Skipping checkpoint: {Reason}", skipped)) is { } ckpt)
            {
                cursor = trainer.CursorOf(ckpt.Info);
                epoch = ckpt.Info.Epoch;
                resumedFrom = trainer.Step;
                resumedOrder = ckpt.Info.ShuffleBuffer ?? [0, 0];
                log.LogInformation("resumed from step {Step} ({Path}); data from {Cursor}", ckpt.Info.Step, ckpt.Path,
                    ckpt.Info.Cursor?.ToString() ?? $"the start of epoch {ckpt.Info.Epoch}");
            }
            else log.LogWarning("--resume: no intact checkpoint in {Out}; starting from step 0", remote?.Prefix ?? Path.GetFullPath(outDir));
        }

        ISampleProcessor processor = textOnly ? new CaptionOnlySampleProcessor() : images
            ? new ImageSampleProcessor(method.ImageViews(settings.MethodOptions, new ViewSettings(settings.Augment, settings.MultiCrop))
                ?? throw new InvalidOperationException($"Method {method.Name} trains on images but gives no view policy."), Decoders())
            : new SeriesSampleProcessor(new SeriesWindowPolicy(settings.Series), channels);
        var recent = new Queue<IReadOnlyList<(string Name, double Value)>>();
        LoopResult outcome;
        long dropped;
        // Rank 0 keeps the run's metrics (the others train the same model on other samples). A resume (even one that found
        // no checkpoint and starts over) drops the rows logged after the step it continues from.
        using var metrics = lead ? new MetricsLog(outDir, training.Resume ? resumedFrom ?? 0 : null) : null;
        // Data-parallel ranks stop together when they agree to (TrainingLoop), not when their own stop request arrives.
        using (var pipelineStop = group.WorldSize > 1 ? new CancellationTokenSource() : CancellationTokenSource.CreateLinkedTokenSource(stop))
        {
            await using var pipeline = InputPipeline.Start(
                dataset.ReadEpochsAsync(PlanFor, epoch, from: cursor),
                batching, new PipelineSettings(processor, training.Seed, DropLast: true) { Trace = trace, Captions = captions }, pipelineStop.Token);
            await using var sampler = new PipelineSampler(pipeline.Stats, new ProfileHeader
            {
                Command = "train", Started = DateTimeOffset.UtcNow, Workers = pipeline.Workers, Decoder = pipeline.DecoderName,
                DecodeScaling = images && !textOnly && settings.Augment.DecodeScaling, BatchSize = batching.BatchSize, ImageSize = textOnly ? 0 : images ? settings.Augment.Size : settings.Series.Length,
                Views = processor.ViewCount, ChunkQueue = batching.ChunkQueue, Prefetch = batching.Prefetch, Deterministic = batching.Deterministic,
                Data = uri, Format = dataset.Format,
                Model = ModelDescription(method, channels),
            }, trace, lead ? Path.Combine(outDir, PipelineSampler.FileName) : null, intervalSeconds: 0.5); // rank 0 keeps the run's files
            log.LogInformation("Training {Method} ({Views}) on {Device}: {Model}; batch {Batch}, {Workers} worker(s) ({Decoder}{Fallback}), torch threads {Threads}{Split}; {Precision}; {Optimizer} peak lr {Lr:g4}, weight decay {Wd:g3}{Recipe}{Clip}; batch memory {Mb:F1} MB in {Buffers} buffers",
                method.Name, Views(processor), device.type, ModelDescription(method, channels),
                batching.BatchSize, pipeline.Workers, pipeline.DecoderName, images && !textOnly ? DecoderFallbackNote(pipeline.DecoderName) : "", torch.get_num_threads(),
                CpuSplit.Describe(training.Threads, batching.Workers, torch.get_num_threads(), pipeline.Workers, Environment.ProcessorCount), trainer.Precision, training.Optimizer, trainer.LearningRate, trainer.WeightDecay, trainer.Recipe is { } recipe ? $" ({recipe.Source} where not set)" : "",
                trainer.ClipGradNorm > 0 ? $", gradient clip {trainer.ClipGradNorm:g3}" : "",
                pipeline.Pool.TotalBytes / 1e6, pipeline.Pool.Buffers);
            log.LogInformation("Data order: {Order}", ShuffleBuffer.Describe(dataset, order).Text);
            if (captions is not null && trainer.Method is ClipMethod clip)
            {
                var c = (ClipOptions)settings.MethodOptions;
                log.LogInformation("Text tower: {Layers} blocks {Width} wide, {Heads} heads, context {Context} ({Tokenizer}, {Vocabulary:N0} ids); joint embedding {Embed}; logit scale {Scale:F2} (max {Max})",
                    c.TextLayers, c.TextWidth, c.TextHeads, c.ContextLength, captions.Name, Contrastive.Training.Text.CaptionTokenizer.VocabularySize, c.EmbedDim, clip.LogitScale, c.MaxLogitScale);
            }
            if (group.WorldSize > 1)
                log.LogInformation("Data parallel: world size {World} ({Backend}), this is rank {Rank}; global batch {Global} ({Batch} per rank); gradients: {Transport}, {Elements:N0} values per step; BatchNorm {Norm}",
                    group.WorldSize, group.Backend, group.Rank, trainer.GlobalBatchSize, batching.BatchSize, trainer.TransportNote, trainer.Method.Parameters.Sum(p => p.numel()),
                    training.SyncBatchNorm ? "synchronised (global batch statistics)" : "per rank (--sync-batchnorm for global statistics)");
            var clock = Stopwatch.StartNew();
            bool limited = training.MaxSteps > 0 || training.MaxMinutes > 0;
            using var live = lead ? display?.Start($"{method.Name} on {uri}", limited ? 1000 : 0) : null;
            var losses = new Queue<double>();
            LoopStatus? last = null;
            long firstSamples = trainer.Samples;
            TrainingLoop? running = null;
            var loop = new TrainingLoop(trainer, store)
            {
                Metrics = metrics,
                Trace = trace,
                // On a terminal the live display shows the status; elsewhere (CI, pipes, the service) a short line every LogEverySeconds.
                Status = s => { OnStatus?.Invoke(s); if (live is null) StatusLine(s); else last = s; },
                Message = m => log.LogInformation("{Message}", m),
                InputDone = pipelineStop.Cancel,
                AfterStep = (step, loss) =>
                {
                    OnStep?.Invoke(step, loss);
                    if (trainer.Method.LastMetrics.Count > 0)
                    {
                        recent.Enqueue(trainer.Method.LastMetrics);
                        if (recent.Count > MetricsWindow) recent.Dequeue();
                    }
                    if (live is null) return;
                    losses.Enqueue(loss);
                    if (losses.Count > MetricsWindow) losses.Dequeue();
                    double t = clock.Elapsed.TotalSeconds;
                    live.Update(limited ? 1000 * running!.Progress(step, t) : 0, LiveLine(step, losses.Average(), (trainer.Samples - firstSamples) / Math.Max(1e-9, t), last));
                },
            };
            running = loop;
            outcome = await loop.RunAsync(pipeline, cursor, stop, clock).ConfigureAwait(false);
            dropped = loop.DroppedBatches;
        }
        if (outcome.BadSamples > 0)
            log.LogWarning("{Bad} bad sample(s) skipped: {ByShard}", outcome.BadSamples, string.Join(", ", outcome.BadByShard.Select(kv => $"{kv.Key}: {kv.Value}")));
        var stepMetrics = MeanMetrics(recent);
        if (stepMetrics.Count > 0)
        {
            metrics?.Write(trainer.Step, outcome.Seconds, [.. stepMetrics.Select(kv => (kv.Key, kv.Value))]);
            log.LogInformation("Last {N} steps: {Metrics}", recent.Count, string.Join(", ", stepMetrics.Select(kv => $"{kv.Key} {kv.Value:F3}")));
        }

        var result = new TrainResult
        {
            Steps = trainer.Step, Samples = trainer.Samples, Seconds = Math.Round(outcome.Seconds, 2), FinalLoss = outcome.MeanLoss,
            InputBound = outcome.WaitShare,
            Checkpoint = outcome.Checkpoint is null ? null : Path.GetFullPath(outcome.Checkpoint),
            BadSamples = outcome.BadSamples, BadSamplesByShard = outcome.BadByShard, ResumedFromStep = resumedFrom, Interrupted = outcome.Interrupted,
            StepMetrics = stepMetrics.Count > 0 ? stepMetrics : null,
            Diversity = outcome.Diversity.Batches > 0 ? DiversityResult.From(outcome.Diversity) : null,
            WorldSize = group.WorldSize, Rank = group.Rank, GlobalBatchSize = trainer.GlobalBatchSize, ParameterChecksum = trainer.ParameterChecksum(),
            CommunicationSeconds = group.WorldSize > 1 ? Math.Round(trainer.CommunicationSeconds, 3) : null,
        };
        if (outcome.Diversity.Batches > 0) log.LogInformation("Batch diversity: {Diversity}", outcome.Diversity.Summary());
        if (dropped > 0)
            log.LogInformation("Dropped {Dropped} batch(es) at epoch ends: another rank had begun the next epoch (ranks' shares of an epoch differ by whole read units)", dropped);
        // The models are the same on every rank: rank 0 evaluates.
        if (outcome.Interrupted || !dataset.HasLabels || split.Fraction <= 0 || !lead) return result;

        // The same method freshly built from the run's seed is the random-init baseline.
        using var evaluating = trace.Span(TraceRecorder.TrainerLane, "evaluation");
        using var random = method.Create(context);
        var embeds = new Func<Batch, Tensor>?[] { trainer.Method.Embed, random.Embed };
        ISampleProcessor evalView = textOnly ? new CaptionOnlySampleProcessor() : images
            ? new ImageSampleProcessor(new EvalTransform(settings.Augment.Size, settings.Evaluation.CropFraction), Decoders())
            : new SeriesSampleProcessor(new SeriesWindowPolicy(new SeriesWindowOptions { Length = settings.Series.Length, ScaleProbability = 0, NoiseProbability = 0, MaskProbability = 0 }), channels);
        (Tensor Features, Tensor Labels)[] bank, test;
        using (trace.Span(TraceRecorder.TrainerLane, "evaluation: feature bank"))
            bank = await FeaturePass.RunAsync(dataset, new ReadPlan(0, training.Seed, false, split, HeldOut: false), images ? settings.Evaluation.KnnBankSize : long.MaxValue,
            evalView, batching, embeds, stop, captions: textOnly ? captions : null).ConfigureAwait(false);
        using (trace.Span(TraceRecorder.TrainerLane, "evaluation: held-out features"))
            test = await FeaturePass.RunAsync(dataset, new ReadPlan(0, training.Seed, false, split, HeldOut: true), long.MaxValue,
            evalView, batching, embeds, stop, captions: textOnly ? captions : null).ConfigureAwait(false);
        try
        {
            if (bank[0].Labels.shape[0] == 0 || test[0].Labels.shape[0] == 0)
                throw new UsageException($"Evaluation needs labelled samples on both sides of the held-out split: {bank[0].Labels.shape[0]} train, {test[0].Labels.shape[0]} held out.");
            if (images)
            {
                log.LogInformation("kNN evaluation (k={K}, T={T}) of {What} on the held-out {Fraction:P0}: trained vs random-init", settings.Evaluation.KnnK, settings.Evaluation.KnnTemperature, textOnly ? "caption embeddings by label" : "image features", split.Fraction);
                double Knn(int e) => KnnClassifier.Top1(bank[e].Features, bank[e].Labels, test[e].Features, test[e].Labels, settings.Evaluation.KnnK, settings.Evaluation.KnnTemperature);
                result = result with { KnnTop1 = Knn(0), KnnTop1RandomInit = Knn(1) };
                log.LogInformation("kNN top-1: trained {Trained:F4}, random init {Random:F4} ({Bank} bank, {Test} test samples)", result.KnnTop1, result.KnnTop1RandomInit,
                    bank[0].Labels.shape[0], test[0].Labels.shape[0]);
                metrics!.Write(trainer.Step, outcome.Seconds, ("eval/knn_top1", result.KnnTop1!.Value), ("eval/knn_top1_random_init", result.KnnTop1RandomInit!.Value));
                if (captions is not null && trainer.Method is IImageTextMethod trained && random is IImageTextMethod untrained)
                    result = await RetrievalAsync(dataset, split, trained, untrained, captions, evalView, trace, trainer.Step, outcome.Seconds, metrics, result, stop).ConfigureAwait(false);
            }
            else
            {
                log.LogInformation("Linear probe on the held-out {Fraction:P0} (one un-augmented window per series): trained vs random-init", split.Fraction);
                double Probe(int e) => LinearProbe.Top1(bank[e].Features, bank[e].Labels, test[e].Features, test[e].Labels, settings.Evaluation.ProbeEpochs, seed: training.Seed);
                result = result with { ProbeTop1 = Probe(0), ProbeTop1RandomInit = Probe(1) };
                log.LogInformation("Linear probe top-1: trained {Trained:F4}, random init {Random:F4} ({Train} train, {Test} test series)", result.ProbeTop1,
                    result.ProbeTop1RandomInit, bank[0].Labels.shape[0], test[0].Labels.shape[0]);
                metrics!.Write(trainer.Step, outcome.Seconds, ("eval/probe_top1", result.ProbeTop1!.Value), ("eval/probe_top1_random_init", result.ProbeTop1RandomInit!.Value));
            }
        }
        finally
        {
            foreach (var (f, l) in bank.Concat(test)) { f.Dispose(); l.Dispose(); }
        }
        return result;
    }

    /// <summary>
    /// Image↔text retrieval recall@1/5/10 on the first Evaluation:RetrievalSamples held-out pairs (image i's caption is
    /// text i), for the trained and the random-init towers.
    /// </summary>
    private async Task<TrainResult> RetrievalAsync(IImageDataset dataset, HoldoutSplit split, IImageTextMethod trained, IImageTextMethod untrained,
        ICaptionEncoder captions, ISampleProcessor view, TraceRecorder? trace, long step, double seconds, MetricsLog? metrics, TrainResult result, CancellationToken stop)
    {
        using var span = trace.Span(TraceRecorder.TrainerLane, "evaluation: retrieval");
        static Func<Batch, Tensor> Both(IImageTextMethod m) => b =>
        {
            using var scope = NewDisposeScope();
            var (tokens, lengths) = TextInput.ToTensors(b, CPU);
            return cat([m.EmbedImages(b), m.EmbedTexts(tokens, lengths)], 1).MoveToOuterDisposeScope();
        };
        var pairs = await FeaturePass.RunAsync(dataset, new ReadPlan(0, settings.Training.Seed, false, split, HeldOut: true), settings.Evaluation.RetrievalSamples,
            view, settings.Batching, [Both(trained), Both(untrained)], stop, captions: captions).ConfigureAwait(false);
        try
        {
            RetrievalResult Score((Tensor Features, Tensor Labels) p)
            {
                long n = Math.Min(p.Features.shape[0], settings.Evaluation.RetrievalSamples), half = p.Features.shape[1] / 2;
                var rows = p.Features.narrow(0, 0, n);
                return RetrievalResult.Of(rows.narrow(1, 0, half), rows.narrow(1, half, half));
            }
            var (mine, baseline) = (Score(pairs[0]), Score(pairs[1]));
            log.LogInformation("Image-text retrieval on {N} held-out pairs: image→text R@1 {I1:F4} R@5 {I5:F4}, text→image R@1 {T1:F4} R@5 {T5:F4}; random init: image→text R@1 {RI1:F4}, text→image R@1 {RT1:F4}",
                mine.Samples, mine.ImageToTextR1, mine.ImageToTextR5, mine.TextToImageR1, mine.TextToImageR5, baseline.ImageToTextR1, baseline.TextToImageR1);
            metrics?.Write(step, seconds, ("eval/i2t_r1", mine.ImageToTextR1), ("eval/i2t_r5", mine.ImageToTextR5), ("eval/t2i_r1", mine.TextToImageR1),
                ("eval/t2i_r5", mine.TextToImageR5), ("eval/i2t_r1_random_init", baseline.ImageToTextR1), ("eval/t2i_r1_random_init", baseline.TextToImageR1));
            return result with { Retrieval = mine, RetrievalRandomInit = baseline };
        }
        finally
        {
            foreach (var (f, l) in pairs) { f.Dispose(); l.Dispose(); }
        }
    }

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

    /// <summary>
    /// The processes training together: one, or the ranks an MPI launcher started (<see cref="LaunchEnvironment"/>), joined
    /// through Open MPI. Data:Rank / Data:WorldSize, when set, must agree with the launcher's.
    /// </summary>
    private IProcessGroup OpenGroup(DataOptions data)
    {
        LaunchEnvironment launch;
        try { launch = LaunchEnvironment.Detect(); }
        catch (DistributedSetupException e) { throw new UsageException(e.Message, e); }
        if (!launch.Distributed) return SingleProcessGroup.Instance;
        if (data.WorldSize != 1 && (data.WorldSize != launch.WorldSize || data.Rank != launch.Rank))
            throw new UsageException($"Data:WorldSize {data.WorldSize} / Data:Rank {data.Rank} disagree with the launcher ({launch}); leave them unset under mpirun or srun.");
        try { return MpiProcessGroup.Open(launch); }
        catch (DistributedSetupException e) { throw new UsageException($"This process is {launch}: {e.Message}", e); }
    }

    /// <summary>The networks in a few words, for the log and the report.</summary>
    private string ModelDescription(MethodRegistration method, int channels) => method.Data switch
    {
        MethodData.Images => $"{method.Name}, {settings.Training.Encoder}{(settings.Training.Encoder == "convnet" ? $" (pooled {settings.Training.ConvNetPool}×{settings.Training.ConvNetPool})" : "")} at {settings.Augment.Size}px",
        MethodData.Text => $"{method.Name}, a text transformer",
        _ => $"{method.Name}, windows of {channels} x {settings.Series.Length}",
    };

    private static string Views(ISampleProcessor p) => p switch
    {
        CaptionOnlySampleProcessor => "captions only",
        ImageSampleProcessor { Policy: MultiCropViewPolicy mc } => $"2 global + {mc.ViewCount - 2} local views of {mc.LocalSize}px",
        ImageSampleProcessor i => $"{i.ViewCount} views",
        _ => "1 window",
    };

    private Func<IImageDecoder>? _decoders;

    /// <summary>The configured decoders (resolved once: an error here names Decoder:Name).</summary>
    private Func<IImageDecoder> Decoders()
    {
        try { return _decoders ??= settings.Decoder.Factory(); }
        catch (InvalidOperationException e) { throw new UsageException(e.Message, e); }
    }

    /// <summary>What the Skia fallback costs, when auto found no libturbojpeg.</summary>
    private string DecoderFallbackNote(string decoder) =>
        decoder == "skia" && settings.Decoder.Name.Equals("auto", StringComparison.OrdinalIgnoreCase)
            ? "; libturbojpeg not found, so Skia decodes: JPEG about 2.2x slower (docs/benchmarks.md); apt-get install libturbojpeg0"
            : "";

    private async Task<(IImageDataset Dataset, int Channels, string Uri)> OpenDataAsync(bool images, bool captions, CancellationToken stop)
    {
        var data = settings.Data;
        try
        {
            if (images)
            {
                string uri = captions
                    ? await DemoDataset.EnsureCaptionsAsync(data, m => log.LogInformation("{Message}", m), stop).ConfigureAwait(false)
                    : await DemoDataset.EnsureAsync(data, m => log.LogInformation("{Message}", m), stop).ConfigureAwait(false);
                return (await ImageDataset.OpenAsync(uri, data.ImageColumn, data.LabelColumn, data.TextColumn, stop).ConfigureAwait(false), 0, uri);
            }
            string series = await DemoDataset.EnsureSeriesAsync(data, m => log.LogInformation("{Message}", m), stop).ConfigureAwait(false);
            var columns = data.SeriesColumns?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            var (dataset, channels) = await SeriesData.OpenAsync(series, columns, data.LabelColumn, stop).ConfigureAwait(false);
            return (dataset, channels, series);
        }
        catch (DataSourceException e)
        {
            throw new UsageException($"--data: {e.Message}", e);
        }
    }

    private static Dictionary<string, double> MeanMetrics(IEnumerable<IReadOnlyList<(string Name, double Value)>> rows)
    {
        var sums = new Dictionary<string, (double Sum, int N)>();
        foreach (var row in rows)
            foreach (var (name, value) in row)
                if (!double.IsNaN(value))
                {
                    var (sum, n) = sums.GetValueOrDefault(name);
                    sums[name] = (sum + value, n + 1);
                }
        return sums.ToDictionary(kv => kv.Key, kv => Math.Round(kv.Value.Sum / kv.Value.N, 4));
    }
}
