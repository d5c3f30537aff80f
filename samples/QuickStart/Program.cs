// Dataset -> input pipeline -> method -> training loop -> kNN, from the public API. Usage: QuickStart DATA [STEPS] [OUT]
// DATA: labelled Parquet shards, tar shards or an image folder (e.g. `contrastive demo-data --output data/demo`).
using Contrastive.Augment;
using Contrastive.Batching;
using Contrastive.Ingest;
using Contrastive.Training;
using static TorchSharp.torch;

if (args.Length == 0) { Console.Error.WriteLine("usage: QuickStart DATA [STEPS] [OUT]"); return 2; }
var dataset = await ImageDataset.OpenAsync(args[0]);
var training = new TrainingOptions { Method = "simclr", MaxSteps = args.Length > 1 ? int.Parse(args[1]) : 200, MaxMinutes = 0, CheckpointEvery = 0 };
string outDir = args.Length > 2 ? args[2] : Path.Combine(Path.GetTempPath(), "contrastive-quickstart");
var batching = new BatchingOptions { BatchSize = 64 };
var views = new ViewSettings(new AugmentOptions { Size = 32 }, new MultiCropOptions());
var split = new HoldoutSplit(0.1);

var method = MethodRegistry.Get(training.Method);           // any registered method: its options, views and networks
var context = new MethodContext(training, method.NewOptions(), CPU, views.Augment.Size);
using var trainer = new ContrastiveTrainer(method, context, batching.BatchSize);
await using (var pipeline = InputPipeline.Start(dataset.ReadEpochsAsync(e => new ReadPlan(e, training.Seed, Shuffle: true, split)), batching,
                 new PipelineSettings(method.ImageViews(context.Options, views)!, training.Seed, DropLast: true)))
{
    var loop = new TrainingLoop(trainer, new CheckpointStore(outDir)) { Status = s => Console.WriteLine($"step {s.Step} loss {s.MeanLoss:F3}") };
    var result = await loop.RunAsync(pipeline, cursor: null, CancellationToken.None);
    Console.WriteLine($"trained {trainer.Step} steps, loss {result.MeanLoss:F4}, waited for data {result.WaitShare:P0}, checkpoint {result.Checkpoint}");
}

// kNN top-1 on the held-out split: the trained network against the same method freshly initialised from the seed.
using var random = method.Create(context);
async Task<(Tensor Features, Tensor Labels)> Features(IContrastiveMethod m, bool heldOut)
{
    using var features = new FeatureExtractor(m.Embed);
    await using var pipeline = InputPipeline.Start(dataset.ReadAsync(new ReadPlan(0, training.Seed, false, split, HeldOut: heldOut)), batching,
        new PipelineSettings(new EvalTransform(views.Augment.Size), training.Seed, DropLast: false));
    await foreach (var lease in pipeline.ReadAllAsync())
        using (lease) features.Add(lease.Batch);
    return features.Result();
}
foreach (var (name, m) in new[] { ("trained", trainer.Method), ("random-init", random) })
{
    var (bank, test) = (await Features(m, heldOut: false), await Features(m, heldOut: true));
    Console.WriteLine($"kNN top-1 {name}: {KnnClassifier.Top1(bank.Features, bank.Labels, test.Features, test.Labels):F4}");
}
return 0;
