using System.Diagnostics;
using Contrastive.Batching;
using Contrastive.Ingest;
using Contrastive.Training;
using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace Contrastive.Host;

/// <summary>
/// Quality while training (Evaluation:Every): every N steps, weighted kNN top-1 of the encoder's features of held-out
/// images against a bank of training images. Cheap because its images are decoded once, when the run starts, through the
/// evaluation view (Evaluation:OnlineBank + OnlineQueries, at most OnlineMaxMb of uint8 views kept in memory): each
/// evaluation is a no-grad forward pass over them in eval mode (no batch-norm statistics move, no random number is
/// drawn, so the run trains the same weights with or without it) and a kNN. Rank 0 evaluates; the points go to
/// metrics.jsonl and TensorBoard (eval/online_knn_top1) and the result's online_eval list.
/// </summary>
internal sealed class OnlineEvaluation : IDisposable
{
    private const int Chunk = 256;
    private readonly List<Batch> _bank, _queries;
    private readonly EvaluationOptions _options;

    private (Tensor Tokens, Tensor Lengths, int Classes, int Templates)? _prompts;

    private OnlineEvaluation(List<Batch> bank, List<Batch> queries, EvaluationOptions options, double prepareSeconds)
    {
        (_bank, _queries, _options) = (bank, queries, options);
        PrepareSeconds = prepareSeconds;
    }

    /// <summary>Steps between evaluations.</summary>
    public long Every => _options.Every;

    public int BankCount => _bank.Sum(b => b.Count);

    public int QueryCount => _queries.Sum(b => b.Count);

    /// <summary>Seconds spent decoding the images at the start.</summary>
    public double PrepareSeconds { get; }

    /// <summary>Seconds spent in evaluations so far.</summary>
    public double Seconds { get; private set; }

    /// <summary>The points so far (step, kNN top-1, seconds it took).</summary>
    public List<OnlinePoint> Points { get; } = [];

    /// <summary>
    /// Decodes the bank and the queries once; null when online evaluation is off or cannot run here (the reason is logged):
    /// not an image method, no labels, no held-out split, or not rank 0.
    /// </summary>
    public static async Task<OnlineEvaluation?> PrepareAsync(TrainSettings settings, TrainData data, IContrastiveMethod method, int rank, Func<Func<IImageDecoder>> decoders,
        ILogger log, CancellationToken stop)
    {
        var o = settings.Evaluation;
        if (o.Every <= 0 || rank != 0) return null;
        IReadOnlyList<string>? classes = string.IsNullOrWhiteSpace(o.OnlineClasses) ? null : o.OnlineClasses.Split(',', StringSplitOptions.TrimEntries);
        if (classes is not null && method is not IImageTextMethod)
            throw new UsageException($"Evaluation:OnlineClasses is for zero-shot classification by an image-text method (clip); {settings.Method.Name} has no text tower.");
        var templates = EvalCommandOptions.DefaultTemplates.Split('|');
        IReadOnlyList<string>? prompts = null;
        try { if (classes is not null) prompts = ZeroShot.Prompts(classes, templates); }
        catch (ArgumentException e) { throw new UsageException($"Evaluation:OnlineClasses: {e.Message}.", e); }
        string? why = !data.Decoded ? $"it scores image features, and {settings.Method.Name} trains on {(data.TextOnly ? "captions" : "series")} (its evaluation runs at the end)"
            : !data.Dataset.HasLabels ? "the data has no labels"
            : data.Split.Fraction <= 0 ? "there is no held-out split (Data:HoldoutFraction 0)"
            : null;
        if (why is not null)
        {
            log.LogWarning("Evaluation:Every {Every}: no online evaluation, {Why}", o.Every, why);
            return null;
        }
        int size = settings.Augment.Size;
        long perImage = 3L * size * size;
        long room = (long)o.OnlineMaxMb * 1024 * 1024 / perImage;
        int bankLimit = (int)Math.Min(o.OnlineBank, Math.Max(1, room * o.OnlineBank / (o.OnlineBank + o.OnlineQueries)));
        int queryLimit = (int)Math.Min(o.OnlineQueries, Math.Max(1, room - bankLimit));
        var clock = Stopwatch.StartNew();
        var view = new ImageSampleProcessor(new EvalTransform(size, o.CropFraction), decoders());
        var seed = settings.Training.Seed;
        var bank = await CollectAsync(data.Dataset, new ReadPlan(0, seed, false, data.Split, HeldOut: false), bankLimit, view, settings.Batching, stop).ConfigureAwait(false);
        var queries = await CollectAsync(data.Dataset, new ReadPlan(0, seed, false, data.Split, HeldOut: true), queryLimit, view, settings.Batching, stop).ConfigureAwait(false);
        var online = new OnlineEvaluation(bank, queries, o, clock.Elapsed.TotalSeconds);
        if (prompts is not null && method is IImageTextMethod text)
        {
            var (tokens, lengths) = ZeroShot.Tokenize(text.Tokenizer, prompts);
            online._prompts = (tokens, lengths, classes!.Count, templates.Length);
            long maxLabel = queries.SelectMany(b => b.Labels.Take(b.Count)).DefaultIfEmpty(0).Max();
            if (maxLabel >= classes.Count)
            {
                online.Dispose();
                throw new UsageException($"Evaluation:OnlineClasses names {classes.Count} classes, but the held-out images have label {maxLabel}: give every label's name, in label order.");
            }
        }
        if (online.BankCount == 0 || online.QueryCount == 0)
        {
            log.LogWarning("Evaluation:Every {Every}: no online evaluation, {Bank} labelled training and {Queries} held-out images were found", o.Every, online.BankCount, online.QueryCount);
            online.Dispose();
            return null;
        }
        log.LogInformation("Online evaluation every {Every} steps: kNN top-1 (k={K}){ZeroShot} of {Queries} held-out images against {Bank} training images, decoded once in {Seconds:F1}s ({Mb:F0} MB{Capped})",
            o.Every, o.KnnK, classes is null ? "" : $" and zero-shot top-1 over {classes.Count} class names", online.QueryCount, online.BankCount, online.PrepareSeconds, (online.BankCount + online.QueryCount) * perImage / 1e6,
            bankLimit < o.OnlineBank || queryLimit < o.OnlineQueries ? $"; fewer than asked, Evaluation:OnlineMaxMb {o.OnlineMaxMb}" : "");
        return online;
    }

    /// <summary>kNN top-1 of <paramref name="method"/>'s features now; records the point.</summary>
    public OnlinePoint Run(IContrastiveMethod method, long step)
    {
        var clock = Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        var (bankFeatures, bankLabels) = Features(method, _bank);
        var (queryFeatures, queryLabels) = Features(method, _queries);
        double top1 = KnnClassifier.Top1(bankFeatures, bankLabels, queryFeatures, queryLabels, _options.KnnK, _options.KnnTemperature);
        double? zeroShot = null;
        if (_prompts is { } p && method is IImageTextMethod text)
        {
            var classes = ZeroShot.ClassEmbeddings(text.EmbedTexts(p.Tokens, p.Lengths), p.Classes, p.Templates);
            var images = cat(_queries.Select(text.EmbedImages).ToList(), 0);
            zeroShot = Math.Round(ZeroShot.Accuracy(images, queryLabels, classes).Top1, 4);
        }
        double seconds = clock.Elapsed.TotalSeconds;
        Seconds += seconds;
        var point = new OnlinePoint(step, Math.Round(top1, 4), Math.Round(seconds, 3)) { ZeroShotTop1 = zeroShot };
        Points.Add(point);
        return point;
    }

    private static (Tensor Features, Tensor Labels) Features(IContrastiveMethod method, List<Batch> batches)
    {
        var features = batches.Select(method.Embed).ToList();
        var labels = batches.SelectMany(b => b.Labels.Take(b.Count)).ToArray();
        return (cat(features, 0), tensor(labels));
    }

    /// <summary>The evaluation views of up to <paramref name="limit"/> labelled samples, copied out of the pipeline's leases into batches of our own.</summary>
    private static async Task<List<Batch>> CollectAsync(IImageDataset data, ReadPlan plan, int limit, ISampleProcessor view, BatchingOptions batching, CancellationToken stop)
    {
        var kept = new List<Batch>();
        Batch? current = null;
        int total = 0;
        // Unlabelled samples do not count towards the limit: read on until it is reached (leaving the loop stops the pipeline).
        await foreach (var lease in FeaturePass.BatchesAsync(data, plan, long.MaxValue, view, batching, stop).ConfigureAwait(false))
        {
            using (lease)
            {
                var b = lease.Batch;
                for (int i = 0; i < b.Count && total < limit; i++)
                {
                    if (b.Labels[i] == Batch.NoLabel) continue;
                    if (current is null || current.Count == Chunk)
                    {
                        current = new Batch(1, Chunk, b.ViewSize(0));
                        kept.Add(current);
                    }
                    b.ViewSlot(0, i).CopyTo(current.ViewSlot(0, current.Count));
                    current.Labels[current.Count] = b.Labels[i];
                    current.Count++;
                    total++;
                }
            }
            if (total >= limit) break;
        }
        return kept;
    }

    public void Dispose()
    {
        _bank.Clear();
        _queries.Clear();
        _prompts?.Tokens.Dispose();
        _prompts?.Lengths.Dispose();
        _prompts = null;
    }
}

/// <summary>One online evaluation: the step, kNN top-1, the seconds it took, and CLIP's zero-shot top-1 when class names are given.</summary>
internal sealed record OnlinePoint(
    [property: System.Text.Json.Serialization.JsonPropertyName("step")] long Step,
    [property: System.Text.Json.Serialization.JsonPropertyName("knn_top1")] double KnnTop1,
    [property: System.Text.Json.Serialization.JsonPropertyName("seconds")] double Seconds)
{
    /// <summary>Zero-shot top-1 of the held-out images (clip with Evaluation:OnlineClasses); null otherwise.</summary>
    [System.Text.Json.Serialization.JsonPropertyName("zero_shot_top1")]
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public double? ZeroShotTop1 { get; init; }
}
