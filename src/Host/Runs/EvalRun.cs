using Contrastive.Batching;
using Contrastive.Ingest;
using Contrastive.Training;
using System.Text.Json.Serialization;
using TorchSharp;

namespace Contrastive.Host;

/// <summary>
/// `contrastive eval`: a checkpoint's encoder on labelled train and test data: weighted kNN top-1 (train features as the
/// bank, test as queries) and a linear probe's top-1 (logistic regression fitted on the frozen train features). With
/// <c>baselines</c>, the same two figures for the architecture at random init (seeded with the run's seed) and for raw pixels
/// (the evaluation view as floats in [0, 1]): a learned encoder that does not beat raw pixels has not earned its keep.
/// </summary>
internal static class EvalRun
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
