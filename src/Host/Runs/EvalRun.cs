using Contrastive.Batching;
using Contrastive.Ingest;
using Contrastive.Training;
using TorchSharp;

namespace Contrastive.Host;

/// <summary>What `contrastive eval` reports.</summary>
public sealed record EvalResult(
    [property: System.Text.Json.Serialization.JsonPropertyName("knn_top1")] double KnnTop1,
    [property: System.Text.Json.Serialization.JsonPropertyName("linear_top1")] double LinearTop1);

/// <summary>
/// `contrastive eval`: a checkpoint's encoder on labelled train and test data: weighted kNN top-1 (train features as the
/// bank, test as queries) and a linear probe's top-1 (logistic regression fitted on the frozen train features).
/// </summary>
public static class EvalRun
{
    public static async Task<EvalResult> RunAsync(string checkpointPath, string trainUri, string testUri, int k, double temperature, string deviceName, BatchingOptions batching,
        CancellationToken ct, int probeEpochs = 300)
    {
        if (!File.Exists(checkpointPath)) throw new UsageException($"--checkpoint: '{checkpointPath}' does not exist.");
        var ckpt = CheckpointStore.Read(checkpointPath);
        if (ckpt.Info.Method == "cpc")
            throw new UsageException($"--checkpoint: '{checkpointPath}' is a CPC checkpoint; eval takes image encoders (a CPC run reports its linear probe when it ends).");
        var device = TorchDevice.Resolve(deviceName);
        using var model = new SimClrModel(ckpt.Info.Encoder, ckpt.Info.SmallImages, ckpt.Info.ProjectionHidden, ckpt.Info.ProjectionDim);
        SimClrTrainer.LoadModel(model, ckpt.Model);
        model.to(device);

        IImageDataset train, test;
        try { train = await ImageDataset.OpenAsync(trainUri, ct: ct).ConfigureAwait(false); }
        catch (DataSourceException e) { throw new UsageException($"--train-data: {e.Message}", e); }
        try { test = await ImageDataset.OpenAsync(testUri, ct: ct).ConfigureAwait(false); }
        catch (DataSourceException e) { throw new UsageException($"--test-data: {e.Message}", e); }
        if (!train.HasLabels) throw new UsageException($"--train-data: '{trainUri}' has no label column; kNN and the linear probe need labels.");
        if (!test.HasLabels) throw new UsageException($"--test-data: '{testUri}' has no label column; kNN and the linear probe need labels.");

        var plan = new ReadPlan(0, ckpt.Info.Seed, false, HoldoutSplit.None);
        Encoder[] encoders = [model.Encoder];
        var bank = await FeaturePass.RunAsync(train, plan, long.MaxValue, ckpt.Info.ImageSize, batching, encoders, device, ct).ConfigureAwait(false);
        var queries = await FeaturePass.RunAsync(test, plan, long.MaxValue, ckpt.Info.ImageSize, batching, encoders, device, ct).ConfigureAwait(false);
        try
        {
            double knn = KnnClassifier.Top1(bank[0].Features, bank[0].Labels, queries[0].Features, queries[0].Labels, k, temperature);
            double linear = LinearProbe.Top1(bank[0].Features, bank[0].Labels, queries[0].Features, queries[0].Labels, probeEpochs, seed: ckpt.Info.Seed);
            return new EvalResult(knn, linear);
        }
        finally
        {
            foreach (var (f, l) in bank.Concat(queries)) { f.Dispose(); l.Dispose(); }
        }
    }
}
