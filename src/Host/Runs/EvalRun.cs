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
        string trainUri = what.TrainData!, testUri = what.TestData!;
        bool baselines = what.Baselines;
        var device = TorchDevice.Resolve(deviceName, HostEnvironment.LocalRank);
        using var subject = string.IsNullOrWhiteSpace(what.Weights) ? FromCheckpoint(what.Checkpoint!, device, baselines) : FromWeights(what, device, baselines, log);

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
        var plan = new ReadPlan(0, subject.Seed, false, HoldoutSplit.None);
        Func<Batch, TorchSharp.torch.Tensor>?[] embeds = subject.Random is null ? [subject.Embed] : [subject.Embed, subject.Random, null];
        var view = new ImageSampleProcessor(new EvalTransform(subject.ImageSize, evaluation.CropFraction), decoders);
        long total = train.SampleCount >= 0 && test.SampleCount >= 0 ? train.SampleCount + test.SampleCount : 0, done = 0;
        using var live = display?.Start($"eval {subject.Name}", total);
        void Progress(int n) => live?.Update(done += n, $"features of {done} images");
        using var features = await EvaluationFeatures.EmbedAsync(train, plan, long.MaxValue, test, plan, view, batching, embeds, ct, Progress).ConfigureAwait(false);
        live?.Update(done, "kNN and linear probe");
        (double Knn, double Linear) Score(int e) => (features.Knn(e, evaluation), features.Probe(e, evaluation, subject.Seed));
        var (knn, linear) = Score(0);
        var result = new EvalResult(knn, linear) { TrainSamples = features.BankCount, TestSamples = features.QueryCount };
        if (subject.Random is null) return result;
        var (knnRandom, linearRandom) = Score(1);
        var (knnPixels, linearPixels) = Score(2);
        return result with { KnnTop1RandomInit = knnRandom, LinearTop1RandomInit = linearRandom, KnnTop1Pixels = knnPixels, LinearTop1Pixels = linearPixels };
    }

    /// <summary>What is scored: its name, view size and seed, its features, the same architecture's at random init (baselines), and what to dispose.</summary>
    private sealed record Subject(string Name, int ImageSize, long Seed, Func<Batch, TorchSharp.torch.Tensor> Embed, Func<Batch, TorchSharp.torch.Tensor>? Random,
        IDisposable[] Owned) : IDisposable
    {
        public void Dispose()
        {
            foreach (var o in Owned) o.Dispose();
        }
    }

    /// <summary>A checkpoint's method, and the same method from the checkpoint's seed, untrained (the random-init baseline).</summary>
    private static Subject FromCheckpoint(string path, TorchSharp.torch.Device device, bool baselines)
    {
        var (ckpt, registration) = CommandCheckpoint.Read(path);
        if (registration.Data != MethodData.Images)
            throw new UsageException($"--checkpoint: '{path}' is a {registration.Name} checkpoint of a {registration.Data.ToString().ToLowerInvariant()} encoder; eval takes image encoders (a {registration.Name} run reports its linear probe when it ends).");
        var method = ContrastiveTrainer.Load(ckpt, device);
        var random = baselines ? ContrastiveTrainer.Load(ckpt, device, randomInit: true) : null;
        return new Subject(Path.GetFileName(path), ckpt.Info.ImageSize, ckpt.Info.Seed, method.Embed, random is null ? null : random.Embed, random is null ? [method] : [method, random]);
    }

    /// <summary>
    /// An image encoder from a safetensors file (--weights): the architecture from --encoder or the file's metadata, the stem
    /// from the metadata or the first convolution's kernel, the view size from --image-size, the metadata or 224; the random-init
    /// baseline is the same architecture from seed 0.
    /// </summary>
    private static Subject FromWeights(EvalCommandOptions what, TorchSharp.torch.Device device, bool baselines, Action<string>? log)
    {
        string path = what.Weights!;
        if (!File.Exists(path)) throw new UsageException($"--weights: '{path}' does not exist.");
        SafeTensors file;
        try { file = SafeTensors.Read(path); }
        catch (InvalidDataException e) { throw new UsageException($"--weights: {e.Message}", e); }
        var meta = file.Metadata;
        string name = (what.Encoder ?? meta.GetValueOrDefault("encoder")
            ?? throw new UsageException($"--encoder is needed: '{path}' does not say its encoder in its metadata (convnet, resnet18, resnet34 or resnet50).")).ToLowerInvariant();
        if (name is not ("convnet" or "resnet18" or "resnet34" or "resnet50"))
            throw new UsageException($"--weights: '{path}' holds a {name} encoder; eval scores convnet, resnet18, resnet34 and resnet50 (give --encoder if the metadata is wrong).");
        bool small = meta.TryGetValue("stem", out var stem) ? stem == "small"
            : file.Entries.FirstOrDefault(e => e.Name == "conv1.weight") is { } conv1 && conv1.Shape.Length == 4 && conv1.Shape[3] == 3;
        int pool = meta.TryGetValue("pool", out var p) && p.StartsWith("avg", StringComparison.Ordinal) && p.Split('x') is [var a, _]
            && int.TryParse(a.AsSpan(3), System.Globalization.CultureInfo.InvariantCulture, out int k) ? k : SmallConvNet.DefaultPool;
        int size = what.ImageSize ?? (meta.TryGetValue("image_size", out var s) && int.TryParse(s, System.Globalization.CultureInfo.InvariantCulture, out int v) ? v : 224);
        Encoder Build()
        {
            torch.manual_seed(0);
            return Encoder.Create(name, small, pool);
        }
        var encoder = Build();
        try
        {
            var result = ModelExport.Import(encoder, file);
            encoder.to(device);
            log?.Invoke($"weights: {path} ({name}{(name == "convnet" ? $", pool {pool}" : $", {(small ? "small-image" : "ImageNet")} stem")}, {size} px views; " +
                $"{result.Tensors} tensors{(result.Skipped.Count > 0 ? $", skipped {Skipped(result.Skipped)}" : "")})");
        }
        catch (InvalidDataException e)
        {
            encoder.Dispose();
            throw new UsageException($"--weights: {e.Message}", e);
        }
        var random = baselines ? Build() : null;
        random?.to(device);
        return new Subject(Path.GetFileName(path), size, 0, b => ImageModels.Embed(encoder, b, device), random is null ? null : b => ImageModels.Embed(random, b, device),
            random is null ? [encoder] : [encoder, random]);
    }

    /// <summary>Names of skipped tensors, the first few and how many more.</summary>
    internal static string Skipped(IReadOnlyList<string> names) => names.Count <= 4 ? string.Join(", ", names) : $"{string.Join(", ", names.Take(4))} and {names.Count - 4} more";
}
