using Contrastive.Batching;
using Contrastive.Ingest;
using Contrastive.Training;
using System.Text.Json.Serialization;
using TorchSharp;

namespace Contrastive.Host;

/// <summary>What `contrastive eval` reports; with --baselines, the same for a random-init encoder and for raw pixels.</summary>
public sealed record EvalResult(
    [property: JsonPropertyName("knn_top1")] double KnnTop1,
    [property: JsonPropertyName("linear_top1")] double LinearTop1)
{
    [JsonPropertyName("knn_top1_random_init"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? KnnTop1RandomInit { get; init; }
    [JsonPropertyName("linear_top1_random_init"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? LinearTop1RandomInit { get; init; }
    [JsonPropertyName("knn_top1_pixels"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? KnnTop1Pixels { get; init; }
    [JsonPropertyName("linear_top1_pixels"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? LinearTop1Pixels { get; init; }
    [JsonPropertyName("train_samples")] public long TrainSamples { get; init; }
    [JsonPropertyName("test_samples")] public long TestSamples { get; init; }
}

/// <summary>
/// `contrastive eval`: a checkpoint's encoder on labelled train and test data: weighted kNN top-1 (train features as the
/// bank, test as queries) and a linear probe's top-1 (logistic regression fitted on the frozen train features). With
/// <c>baselines</c>, the same two figures for the architecture at random init (seeded with the run's seed) and for raw pixels
/// (the evaluation view as floats in [0, 1]): a learned encoder that does not beat raw pixels has not earned its keep.
/// </summary>
public static class EvalRun
{
    /// <param name="given">Whether the user set a configuration key: the evaluation crop follows the test images' size otherwise.</param>
    /// <param name="log">Where the data-driven choice is said (null: nowhere).</param>
    public static async Task<EvalResult> RunAsync(EvalCommandOptions what, EvaluationOptions evaluation, string deviceName, BatchingOptions batching,
        Func<IImageDecoder>? decoders, CancellationToken ct, RunDisplay? display = null, Func<string, bool>? given = null, Action<string>? log = null,
        ObjectStoreOptions? store = null)
    {
        string checkpointPath = what.Checkpoint!, trainUri = what.TrainData!, testUri = what.TestData!;
        bool baselines = what.Baselines;
        var (ckpt, registration) = CommandCheckpoint.Read(checkpointPath);
        if (registration.Data != MethodData.Images)
            throw new UsageException($"--checkpoint: '{checkpointPath}' is a {registration.Name} checkpoint of a {registration.Data.ToString().ToLowerInvariant()} encoder; eval takes image encoders (a {registration.Name} run reports its linear probe when it ends).");
        var device = TorchDevice.Resolve(deviceName, HostEnvironment.LocalRank);
        using var method = ContrastiveTrainer.Load(ckpt, device);
        // The same method built from the checkpoint's seed, untrained: the random-init baseline.
        using var random = baselines ? ContrastiveTrainer.Load(ckpt, device, randomInit: true) : null;

        IImageDataset train, test;
        try { train = await ImageDataset.OpenAsync(trainUri, null, null, null, ct, store).ConfigureAwait(false); }
        catch (DataSourceException e) { throw new UsageException($"--train-data: {e.Message}", e); }
        try { test = await ImageDataset.OpenAsync(testUri, null, null, null, ct, store).ConfigureAwait(false); }
        catch (DataSourceException e) { throw new UsageException($"--test-data: {e.Message}", e); }
        if (!train.HasLabels) throw new UsageException($"--train-data: '{trainUri}' has no label column; kNN and the linear probe need labels.");
        if (!test.HasLabels) throw new UsageException($"--test-data: '{testUri}' has no label column; kNN and the linear probe need labels.");

        if (await ImageShape.ProbeAsync(test, decoders ?? ImageDecoders.CreateDefault, ct).ConfigureAwait(false) is { } shape)
        {
            (evaluation, var chosen) = DataDefaults.ApplyEvaluation(shape, evaluation, given ?? (_ => false));
            log?.Invoke(DataDefaults.Describe(shape, chosen));
        }
        var plan = new ReadPlan(0, ckpt.Info.Seed, false, HoldoutSplit.None);
        Func<Batch, TorchSharp.torch.Tensor>?[] embeds = random is null ? [method.Embed] : [method.Embed, random.Embed, null];
        var view = new ImageSampleProcessor(new EvalTransform(ckpt.Info.ImageSize, evaluation.CropFraction), decoders);
        long total = train.SampleCount >= 0 && test.SampleCount >= 0 ? train.SampleCount + test.SampleCount : 0, done = 0;
        using var live = display?.Start($"eval {Path.GetFileName(checkpointPath)}", total);
        void Progress(int n) => live?.Update(done += n, $"features of {done} images");
        using var features = await EvaluationFeatures.EmbedAsync(train, plan, long.MaxValue, test, plan, view, batching, embeds, ct, Progress).ConfigureAwait(false);
        live?.Update(done, "kNN and linear probe");
        (double Knn, double Linear) Score(int e) => (features.Knn(e, evaluation), features.Probe(e, evaluation, ckpt.Info.Seed));
        var (knn, linear) = Score(0);
        var result = new EvalResult(knn, linear) { TrainSamples = features.BankCount, TestSamples = features.QueryCount };
        if (random is null) return result;
        var (knnRandom, linearRandom) = Score(1);
        var (knnPixels, linearPixels) = Score(2);
        return result with { KnnTop1RandomInit = knnRandom, LinearTop1RandomInit = linearRandom, KnnTop1Pixels = knnPixels, LinearTop1Pixels = linearPixels };
    }
}

/// <summary>What `contrastive eval --zero-shot` reports; with --baselines, the same for the random-init towers.</summary>
public sealed record ZeroShotResult(
    [property: JsonPropertyName("zero_shot_top1")] double Top1,
    [property: JsonPropertyName("zero_shot_top5")] double Top5)
{
    [JsonPropertyName("zero_shot_top1_random_init"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? Top1RandomInit { get; init; }
    [JsonPropertyName("zero_shot_top5_random_init"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? Top5RandomInit { get; init; }
    [JsonPropertyName("classes")] public int Classes { get; init; }
    [JsonPropertyName("templates")] public int Templates { get; init; }
    [JsonPropertyName("test_samples")] public long TestSamples { get; init; }
}

/// <summary>
/// `contrastive eval --zero-shot`: an image-text checkpoint (clip) classifies the test images by the class names alone —
/// every name in every prompt template through the text tower, the prompts' embeddings averaged per class
/// (<see cref="ZeroShot"/>), each image given the class nearest its own embedding.
/// </summary>
public static class ZeroShotRun
{
    public static async Task<ZeroShotResult> RunAsync(EvalCommandOptions what, EvaluationOptions evaluation, string deviceName, BatchingOptions batching,
        Func<IImageDecoder>? decoders, CancellationToken ct, RunDisplay? display = null, Func<string, bool>? given = null, Action<string>? log = null,
        ObjectStoreOptions? store = null)
    {
        string checkpointPath = what.Checkpoint!, testUri = what.TestData!;
        var (ckpt, _) = CommandCheckpoint.Read(checkpointPath);
        var classes = ClassNames(what);
        var templates = what.Templates.Split('|', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        IReadOnlyList<string> prompts;
        try { prompts = ZeroShot.Prompts(classes, templates); }
        catch (ArgumentException e) { throw new UsageException($"--zero-shot: {e.Message}", e); }

        var device = TorchDevice.Resolve(deviceName, HostEnvironment.LocalRank);
        using var method = ContrastiveTrainer.Load(ckpt, device);
        if (method is not IImageTextMethod text)
            throw new UsageException($"--zero-shot needs an image-text checkpoint (--method clip); '{checkpointPath}' is a {ckpt.Info.Method} checkpoint, which has no text tower (eval without --zero-shot scores its kNN and linear probe).");
        using var random = what.Baselines ? ContrastiveTrainer.Load(ckpt, device, randomInit: true) : null;

        IImageDataset test;
        try { test = await ImageDataset.OpenAsync(testUri, null, null, null, ct, store).ConfigureAwait(false); }
        catch (DataSourceException e) { throw new UsageException($"--test-data: {e.Message}", e); }
        if (!test.HasLabels) throw new UsageException($"--test-data: '{testUri}' has no label column; zero-shot accuracy needs each image's class.");
        if (await ImageShape.ProbeAsync(test, decoders ?? ImageDecoders.CreateDefault, ct).ConfigureAwait(false) is { } shape)
        {
            (evaluation, var chosen) = DataDefaults.ApplyEvaluation(shape, evaluation, given ?? (_ => false));
            log?.Invoke(DataDefaults.Describe(shape, chosen));
        }
        log?.Invoke($"Zero-shot: {classes.Count} classes × {templates.Length} prompt template(s), e.g. \"{prompts[0]}\"");

        var (tokens, lengths) = ZeroShot.Tokenize(text.Tokenizer, prompts);
        var methods = random is null ? new[] { text } : [text, (IImageTextMethod)random];
        var classEmbeddings = methods.Select(m =>
        {
            using var z = m.EmbedTexts(tokens, lengths);
            return ZeroShot.ClassEmbeddings(z, classes.Count, templates.Length);
        }).ToArray();
        tokens.Dispose();
        lengths.Dispose();

        var view = new ImageSampleProcessor(new EvalTransform(ckpt.Info.ImageSize, evaluation.CropFraction), decoders);
        long done = 0;
        using var live = display?.Start($"zero-shot {Path.GetFileName(checkpointPath)}", Math.Max(0, test.SampleCount));
        var images = await FeaturePass.RunAsync(test, new ReadPlan(0, ckpt.Info.Seed, false, HoldoutSplit.None), long.MaxValue, view, batching,
            methods.Select(m => (Func<Batch, TorchSharp.torch.Tensor>?)m.EmbedImages).ToArray(), ct, n => live?.Update(done += n, $"{done} images embedded")).ConfigureAwait(false);
        try
        {
            (double, double) Score(int e)
            {
                try { return ZeroShot.Accuracy(images[e].Features, images[e].Labels, classEmbeddings[e]); }
                catch (ArgumentException ex) { throw new UsageException($"--zero-shot: {ex.Message}; give the class names of every label of '{testUri}', in label order.", ex); }
            }
            var (top1, top5) = Score(0);
            var result = new ZeroShotResult(top1, top5) { Classes = classes.Count, Templates = templates.Length, TestSamples = images[0].Labels.shape[0] };
            if (random is null) return result;
            var (r1, r5) = Score(1);
            return result with { Top1RandomInit = r1, Top5RandomInit = r5 };
        }
        finally
        {
            foreach (var (f, l) in images) { f.Dispose(); l.Dispose(); }
            foreach (var c in classEmbeddings) c.Dispose();
        }
    }

    /// <summary>The class names of --classes (comma-separated) or --classes-file (a name a line; blank lines and # comments skipped).</summary>
    internal static IReadOnlyList<string> ClassNames(EvalCommandOptions what)
    {
        if (!string.IsNullOrWhiteSpace(what.Classes))
            return what.Classes.Split(',', StringSplitOptions.TrimEntries);
        string file = what.ClassesFile!;
        if (!File.Exists(file)) throw new UsageException($"--classes-file: '{file}' does not exist.");
        var names = File.ReadAllLines(file).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToArray();
        if (names.Length == 0) throw new UsageException($"--classes-file: '{file}' names no class (one name a line).");
        return names;
    }
}
