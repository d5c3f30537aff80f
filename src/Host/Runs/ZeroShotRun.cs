using Contrastive.Batching;
using Contrastive.Ingest;
using Contrastive.Training;

namespace Contrastive.Host;

/// <summary>
/// `contrastive eval --zero-shot`: an image-text checkpoint (clip) classifies the test images by the class names alone —
/// every name in every prompt template through the text tower, the prompts' embeddings averaged per class
/// (<see cref="ZeroShot"/>), each image given the class nearest its own embedding.
/// </summary>
internal static class ZeroShotRun
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
