using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;
using Contrastive.Batching;
using Contrastive.Ingest;
using Contrastive.Training;
using TorchSharp;

namespace Contrastive.Host;

/// <summary>
/// `contrastive embed`: every sample of a dataset, in stored order, through a checkpoint, into one Parquet file of
/// embeddings with their keys (<see cref="EmbeddingFile"/>), for search and plots. Images go through the evaluation view
/// (the <see cref="EvalTransform"/> at the checkpoint's image size, the crop eval uses) and the method's image embedding:
/// the joint, L2-normalised embedding of an image-text method (<see cref="IImageTextMethod.EmbedImages"/>), else the
/// encoder features kNN uses (<see cref="IContrastiveMethod.Embed"/>). With <see cref="EmbedCommandOptions.Text"/>, the
/// captions go through the text tower instead (<see cref="IImageTextMethod.EmbedTexts"/>), read without decoding an image.
/// </summary>
internal static class EmbedRun
{
    /// <param name="given">Whether the user set a configuration key: the evaluation crop follows the images' size otherwise.</param>
    /// <param name="log">Where the data-driven choices and progress (without a live display) are said (null: nowhere).</param>
    public static async Task<EmbedResult> RunAsync(EmbedCommandOptions what, DataOptions data, EvaluationOptions evaluation, string deviceName,
        BatchingOptions batching, Func<IImageDecoder>? decoders, CancellationToken ct, RunDisplay? display = null, Func<string, bool>? given = null,
        Action<string>? log = null, ObjectStoreOptions? store = null)
    {
        string checkpointPath = what.Checkpoint!, uri = data.Uri;
        if (string.IsNullOrWhiteSpace(uri)) throw new UsageException("--data is required: the data to embed.");
        if (!File.Exists(checkpointPath)) throw new UsageException($"--checkpoint: '{checkpointPath}' does not exist.");
        if (Directory.Exists(what.Out)) throw new UsageException($"--out: '{what.Out}' is a directory; give the Parquet file to write, e.g. {Path.Combine(what.Out!, "embeddings.parquet")}.");
        var (ckpt, registration) = CommandCheckpoint.Read(checkpointPath);
        if (registration.Data != MethodData.Images)
            throw new UsageException($"--checkpoint: '{checkpointPath}' is a {registration.Name} checkpoint of a {registration.Data.ToString().ToLowerInvariant()} encoder; embed takes image checkpoints.");

        var device = TorchDevice.Resolve(deviceName, HostEnvironment.LocalRank);
        using var method = ContrastiveTrainer.Load(ckpt, device);
        var text = method as IImageTextMethod;
        if (what.Text && text is null)
            throw new UsageException($"--text needs an image-text checkpoint (--method clip); '{checkpointPath}' is a {ckpt.Info.Method} checkpoint, which has no text tower (embed without --text writes its image embeddings).");

        IImageDataset dataset;
        try { dataset = await ImageDataset.OpenAsync(uri, data.ImageColumn, data.LabelColumn, data.TextColumn, ct, store).ConfigureAwait(false); }
        catch (DataSourceException e) { throw new UsageException($"--data: {e.Message}", e); }
        catch (ShardFormatException e) { throw new UsageException($"--data: {e.Message}", e); }
        if (what.Text) CaptionData.Require(dataset, "--text", "--text-column");

        await using var file = await EmbeddingFile.CreateAsync(what.Out!, what.Text, what.RowsPerRowGroup, ct).ConfigureAwait(false);
        string kind = what.Text ? "text" : "images";
        log?.Invoke($"Embedding the {(what.Text ? "captions" : "images")} of {uri} ({dataset.Format}, {(dataset.SampleCount >= 0 ? dataset.SampleCount.ToString(CultureInfo.InvariantCulture) : "unknown")} samples) " +
            $"with the {ckpt.Info.Method} checkpoint {Path.GetFileName(checkpointPath)} ({(what.Text ? "text tower" : text is not null ? "joint image embedding" : "encoder features")})");
        using var live = display?.Start($"embed {Path.GetFileName(checkpointPath)}", Math.Max(0, dataset.SampleCount));
        var progress = new Progress(live, log, dataset.SampleCount, kind);
        long skipped = what.Text
            ? await TextsAsync(dataset, text!, file, batching.BatchSize, progress, ct).ConfigureAwait(false)
            : await ImagesAsync(dataset, ckpt, method, text, file, evaluation, batching, decoders, progress, given, log, ct).ConfigureAwait(false);
        if (file.Rows == 0)
            throw new InvalidOperationException($"no sample of '{uri}' could be embedded ({skipped} skipped: {(what.Text ? "no caption" : "undecodable images")}).");
        live?.Update(file.Rows, "writing the file");
        await file.CompleteAsync(ct).ConfigureAwait(false);
        return new EmbedResult(file.Rows, file.Dims, file.Path) { Kind = kind, Skipped = skipped };
    }

    /// <summary>The images through the evaluation view, in stored order (deterministic assembly); returns the bad samples skipped.</summary>
    private static async Task<long> ImagesAsync(IImageDataset dataset, CheckpointData ckpt, IContrastiveMethod method, IImageTextMethod? text, EmbeddingFile file,
        EvaluationOptions evaluation, BatchingOptions batching, Func<IImageDecoder>? decoders, Progress progress, Func<string, bool>? given, Action<string>? log,
        CancellationToken ct)
    {
        if (await ImageShape.ProbeAsync(dataset, decoders ?? ImageDecoders.CreateDefault, ct).ConfigureAwait(false) is { } shape)
        {
            (evaluation, var chosen) = DataDefaults.ApplyEvaluation(shape, evaluation, given ?? (_ => false));
            log?.Invoke(DataDefaults.Describe(shape, chosen));
        }
        var view = new ImageSampleProcessor(new EvalTransform(ckpt.Info.ImageSize, evaluation.CropFraction), decoders);
        Func<Batch, torch.Tensor> embed = text is not null ? text.EmbedImages : method.Embed;
        var options = new BatchingOptions
        {
            BatchSize = batching.BatchSize, Workers = batching.Workers, Prefetch = batching.Prefetch, ChunkQueue = batching.ChunkQueue,
            MaxBadSampleFraction = batching.MaxBadSampleFraction, BadSampleAllowance = batching.BadSampleAllowance,
            Deterministic = true, // batches in the order the chunks were read: the stored order
        };
        var plan = new ReadPlan(0, ckpt.Info.Seed, Shuffle: false, HoldoutSplit.None);
        await using var pipeline = InputPipeline.Start(dataset.ReadAsync(plan, ct), options, new PipelineSettings(view, ckpt.Info.Seed, DropLast: false, Name: "embed"), ct);
        await foreach (var lease in pipeline.ReadAllAsync(ct).ConfigureAwait(false))
        {
            using (lease)
            {
                var batch = lease.Batch;
                float[] values;
                int dims;
                using (torch.NewDisposeScope())
                {
                    var z = embed(batch).to(torch.CPU).to_type(torch.ScalarType.Float32).contiguous();
                    dims = checked((int)z.shape[1]);
                    values = z.data<float>().ToArray();
                }
                for (int i = 0; i < batch.Count; i++)
                {
                    long index = batch.Indices[i], label = batch.Labels[i];
                    await file.AddAsync(batch.Keys[i] ?? index.ToString(CultureInfo.InvariantCulture), index, label < 0 ? null : label,
                        values.AsMemory(i * dims, dims), ct: ct).ConfigureAwait(false);
                }
                progress.Add(batch.Count);
            }
        }
        return pipeline.Stats.BadSamples;
    }

    /// <summary>The captions through the text tower, in stored order, without decoding images; returns the samples without a caption.</summary>
    private static async Task<long> TextsAsync(IImageDataset dataset, IImageTextMethod text, EmbeddingFile file, int batchSize, Progress progress, CancellationToken ct)
    {
        var tokenizer = text.Tokenizer;
        int context = tokenizer.ContextLength;
        var ids = new int[batchSize * context];
        var lengths = new long[batchSize];
        var rows = new List<(string Key, long Index, long? Label, string Text)>(batchSize);
        long skipped = 0;

        async Task Flush()
        {
            if (rows.Count == 0) return;
            float[] values;
            int dims;
            using (torch.NewDisposeScope())
            {
                var tokens = torch.tensor(ids.AsSpan(0, rows.Count * context).ToArray(), [rows.Count, context]);
                var z = text.EmbedTexts(tokens, torch.tensor(lengths.AsSpan(0, rows.Count).ToArray())).to_type(torch.ScalarType.Float32).contiguous();
                dims = checked((int)z.shape[1]);
                values = z.data<float>().ToArray();
            }
            for (int i = 0; i < rows.Count; i++)
                await file.AddAsync(rows[i].Key, rows[i].Index, rows[i].Label, values.AsMemory(i * dims, dims), rows[i].Text, ct).ConfigureAwait(false);
            progress.Add(rows.Count);
            rows.Clear();
        }

        await foreach (var chunk in dataset.ReadAsync(new ReadPlan(0, 0, Shuffle: false, HoldoutSplit.None) { Captions = true }, ct).ConfigureAwait(false))
        {
            using (chunk)
            {
                for (int i = 0; i < chunk.Count; i++)
                {
                    // A missing or blank caption is the sample's problem (the reader marks it); other problems do not touch the caption.
                    if (chunk.Captions is not { } captions || CaptionText.IsBlank(captions[i].Span)) { skipped++; progress.Skip(); continue; }
                    string caption = Encoding.UTF8.GetString(captions[i].Span);
                    var row = ids.AsSpan(rows.Count * context, context);
                    row.Clear(); // padding 0 past the caption's ids, as the pipeline writes it
                    try { lengths[rows.Count] = tokenizer.EncodeInto(caption, row); }
                    catch (ArgumentException) { skipped++; progress.Skip(); continue; } // a caption the tokenizer refuses
                    long index = chunk.Indices[i], label = chunk.Labels[i];
                    rows.Add((chunk.Keys?[i] ?? index.ToString(CultureInfo.InvariantCulture), index, label < 0 ? null : label, caption));
                    if (rows.Count == batchSize) await Flush().ConfigureAwait(false);
                }
            }
        }
        await Flush().ConfigureAwait(false);
        return skipped;
    }

    /// <summary>The live display's bar, or without one a log line every 10 s.</summary>
    private sealed class Progress(LiveProgress? live, Action<string>? log, long total, string kind)
    {
        private static readonly TimeSpan Every = TimeSpan.FromSeconds(10);
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private TimeSpan _next = Every;
        private long _done, _skipped;

        public void Skip() => _skipped++;

        public void Add(int rows)
        {
            _done += rows;
            string of = total > 0 ? $"/{total}" : "";
            live?.Update(_done + _skipped, $"{_done}{of} {kind} embedded");
            if (live is not null || log is null || _clock.Elapsed < _next) return;
            _next = _clock.Elapsed + Every;
            log(string.Create(CultureInfo.InvariantCulture, $"{DateTime.Now:HH:mm:ss} embed: {_done}{of} {kind} embedded, {_done / _clock.Elapsed.TotalSeconds:F0}/s"));
        }
    }
}
