using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Contrastive.Batching;
using Contrastive.Training;

namespace Contrastive.Host;

/// <summary>`contrastive eval`: kNN and linear-probe top-1 of a checkpoint's encoder, or CLIP's zero-shot classification.</summary>
internal static class EvalCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var cmd = new Command("eval", "Weighted kNN top-1 and a linear probe's top-1 of a checkpoint's encoder; the checkpoint's own method, encoder and image size.");
        var o = new CommandLineOptions(cmd);
        o.Add([
            new("--checkpoint", "Eval:Checkpoint", "A checkpoint file written by train (or --weights)."),
            new("--weights", "Eval:Weights", "Instead of a checkpoint: a safetensors file of an image encoder (torchvision's ResNet names, or contrastive export's)."),
            new("--encoder", "Eval:Encoder", "With --weights: convnet, resnet18, resnet34 or resnet50.", "the file's metadata"),
            new("--image-size", "Eval:ImageSize", "With --weights: the evaluation view's side in pixels.", "the file's metadata, else 224"),
            new("--train-data", "Eval:TrainData", "Labelled data whose features form the kNN bank (required)."),
            new("--test-data", "Eval:TestData", "Labelled data to classify (required)."),
            new("--baselines", "Eval:Baselines", "Also score the architecture at random init and raw pixels (the evaluation view as floats)."),
            new("--zero-shot", "Eval:ZeroShot", "Zero-shot classification of --test-data by class names, with an image-text checkpoint (clip); --train-data is then optional."),
            new("--classes", "Eval:Classes", "Zero-shot: class names, comma-separated, in label order."),
            new("--classes-file", "Eval:ClassesFile", "Zero-shot: a file with one class name per line, in label order."),
            new("--templates", "Eval:Templates", "Zero-shot: prompt templates separated by |, each with {} for the class name (ensembled)."),
            new("--knn-k", "Evaluation:KnnK", "kNN neighbours."),
            new("--knn-temperature", "Evaluation:KnnTemperature", "kNN temperature."),
            OptionGroups.CropFraction(),
            .. OptionGroups.Runtime("Decode workers."),
            OptionGroups.Decoder,
        ]);
        var json = o.Json("Print {\"knn_top1\": ...} as the last line.");
        cmd.SetAction(o, output, error, (c, parse, ct) => RunAsync(c, parse.GetValue(json), ct));
        return cmd;
    }

    private static async Task<int> RunAsync(CommandContext c, bool json, CancellationToken ct)
    {
        var what = c.Bind<EvalCommandOptions>("Eval");
        var evaluation = c.Bind<EvaluationOptions>("Evaluation");
        string device = c.Bind<TrainingOptions>("Training").Device;
        var batching = c.Bind<BatchingOptions>("Batching");
        var decoders = c.Decoders();
        Task<EvalResult> Knn() => EvalRun.RunAsync(what, evaluation, device, batching, decoders, ct, c.Display(), c.Given("Evaluation"), c.Say, c.ObjectStore);
        if (!what.ZeroShot)
        {
            var result = await Knn().ConfigureAwait(false);
            if (json) c.Output.WriteLine(JsonSerializer.Serialize(result));
            else Print(result, c.Output);
            return Cli.Ok;
        }
        var zero = await ZeroShotRun.RunAsync(what, evaluation, device, batching, decoders, ct, c.Display(), c.Given("Evaluation"), c.Say, c.ObjectStore).ConfigureAwait(false);
        EvalResult? knn = string.IsNullOrWhiteSpace(what.TrainData) ? null : await Knn().ConfigureAwait(false);
        if (json)
        {
            var merged = JsonSerializer.SerializeToNode(zero)!.AsObject();
            if (knn is not null)
                foreach (var (k, v) in JsonSerializer.SerializeToNode(knn)!.AsObject()) merged[k] ??= v?.DeepClone();
            c.Output.WriteLine(merged.ToJsonString());
            return Cli.Ok;
        }
        c.Output.WriteLine(Invariant($"zero-shot top-1: {zero.Top1:F4}, top-5: {zero.Top5:F4} ({zero.Classes} classes, {zero.Templates} template(s), {zero.TestSamples} test images)"));
        if (zero.Top1RandomInit is { } zr) c.Output.WriteLine(Invariant($"random init: zero-shot top-1 {zr:F4}, top-5 {zero.Top5RandomInit:F4}"));
        if (knn is not null) c.Output.WriteLine(Invariant($"kNN top-1: {knn.KnnTop1:F4}\nlinear probe top-1: {knn.LinearTop1:F4}"));
        return Cli.Ok;
    }

    private static void Print(EvalResult result, TextWriter output)
    {
        output.WriteLine(Invariant($"kNN top-1: {result.KnnTop1:F4}\nlinear probe top-1: {result.LinearTop1:F4}"));
        if (result.KnnTop1RandomInit is { } kr)
            output.WriteLine(Invariant($"random init: kNN {kr:F4}, linear {result.LinearTop1RandomInit:F4}\nraw pixels:  kNN {result.KnnTop1Pixels:F4}, linear {result.LinearTop1Pixels:F4}"));
        output.WriteLine($"({result.TrainSamples} train, {result.TestSamples} test samples)");
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
