using Contrastive.Batching;
using Contrastive.Ingest;
using Contrastive.Training;
using TorchSharp;

namespace Contrastive.Host;

/// <summary>`contrastive eval`: kNN top-1 of a checkpoint's encoder, features of the train data as the bank, test data as queries.</summary>
public static class EvalRun
{
    public static async Task<double> KnnAsync(string checkpointPath, string trainUri, string testUri, int k, double temperature, string deviceName, BatchingOptions batching, CancellationToken ct)
    {
        if (!File.Exists(checkpointPath)) throw new UsageException($"--checkpoint: '{checkpointPath}' does not exist.");
        var ckpt = CheckpointStore.Read(checkpointPath);
        var device = TorchDevice.Resolve(deviceName);
        using var model = new SimClrModel(ckpt.Info.Encoder, ckpt.Info.SmallImages, ckpt.Info.ProjectionHidden, ckpt.Info.ProjectionDim);
        SimClrTrainer.LoadModel(model, ckpt.Model);
        model.to(device);

        IImageDataset train, test;
        try { train = await ImageDataset.OpenAsync(trainUri, ct: ct).ConfigureAwait(false); }
        catch (DataSourceException e) { throw new UsageException($"--train-data: {e.Message}", e); }
        try { test = await ImageDataset.OpenAsync(testUri, ct: ct).ConfigureAwait(false); }
        catch (DataSourceException e) { throw new UsageException($"--test-data: {e.Message}", e); }
        if (!train.HasLabels) throw new UsageException($"--train-data: '{trainUri}' has no label column; kNN needs labels.");
        if (!test.HasLabels) throw new UsageException($"--test-data: '{testUri}' has no label column; kNN needs labels.");

        var plan = new ReadPlan(0, ckpt.Info.Seed, false, HoldoutSplit.None);
        Encoder[] encoders = [model.Encoder];
        var bank = await FeaturePass.RunAsync(train, plan, long.MaxValue, ckpt.Info.ImageSize, batching, encoders, device, ct).ConfigureAwait(false);
        var queries = await FeaturePass.RunAsync(test, plan, long.MaxValue, ckpt.Info.ImageSize, batching, encoders, device, ct).ConfigureAwait(false);
        try
        {
            return KnnClassifier.Top1(bank[0].Features, bank[0].Labels, queries[0].Features, queries[0].Labels, k, temperature);
        }
        finally
        {
            foreach (var (f, l) in bank.Concat(queries)) { f.Dispose(); l.Dispose(); }
        }
    }
}
