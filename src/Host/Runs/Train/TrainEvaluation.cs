using Contrastive.Batching;
using Contrastive.Ingest;
using Contrastive.Training;
using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace Contrastive.Host;

/// <summary>
/// A training run's last step: the trained network against the same method freshly built from the run's seed, on the
/// held-out split (<see cref="EvaluationFeatures"/>, as `eval` scores a checkpoint): kNN for image and text methods, a linear
/// probe for series, and image-text retrieval for methods with two towers. The figures go to the result and metrics.jsonl.
/// </summary>
internal sealed class TrainEvaluation(TrainSettings settings, ILogger log, Func<IImageDecoder> decoders)
{
    public async Task<TrainResult> RunAsync(TrainData data, TrainModel model, double seconds, MetricsLog metrics, TrainResult result, TraceRecorder? trace, CancellationToken stop)
    {
        var (training, evaluation) = (settings.Training, settings.Evaluation);
        var trainer = model.Trainer;
        using var evaluating = trace.Span(TraceRecorder.TrainerLane, "evaluation");
        using var random = settings.Method.Create(model.Context);
        var view = View(data);
        var captions = data.TextOnly ? data.Captions : null;
        using var features = await EvaluationFeatures.EmbedAsync(data.Dataset, new ReadPlan(0, training.Seed, false, data.Split, HeldOut: false),
            data.Images ? evaluation.KnnBankSize : long.MaxValue, data.Dataset, new ReadPlan(0, training.Seed, false, data.Split, HeldOut: true),
            view, settings.Batching, [trainer.Method.Embed, random.Embed], stop, captions: captions, trace: trace).ConfigureAwait(false);
        if (features.BankCount == 0 || features.QueryCount == 0)
            throw new UsageException($"Evaluation needs labelled samples on both sides of the held-out split: {features.BankCount} train, {features.QueryCount} held out.");
        if (!data.Images)
        {
            log.LogInformation("Linear probe on the held-out {Fraction:P0} (one un-augmented window per series): trained vs random-init", data.Split.Fraction);
            result = result with { ProbeTop1 = features.Probe(0, evaluation, training.Seed), ProbeTop1RandomInit = features.Probe(1, evaluation, training.Seed) };
            log.LogInformation("Linear probe top-1: trained {Trained:F4}, random init {Random:F4} ({Train} train, {Test} test series)", result.ProbeTop1,
                result.ProbeTop1RandomInit, features.BankCount, features.QueryCount);
            metrics.Write(trainer.Step, seconds, ("eval/probe_top1", result.ProbeTop1!.Value), ("eval/probe_top1_random_init", result.ProbeTop1RandomInit!.Value));
            return result;
        }
        log.LogInformation("kNN evaluation (k={K}, T={T}) of {What} on the held-out {Fraction:P0}: trained vs random-init", evaluation.KnnK, evaluation.KnnTemperature,
            data.TextOnly ? "caption embeddings by label" : "image features", data.Split.Fraction);
        result = result with { KnnTop1 = features.Knn(0, evaluation), KnnTop1RandomInit = features.Knn(1, evaluation) };
        log.LogInformation("kNN top-1: trained {Trained:F4}, random init {Random:F4} ({Bank} bank, {Test} test samples)", result.KnnTop1, result.KnnTop1RandomInit,
            features.BankCount, features.QueryCount);
        metrics.Write(trainer.Step, seconds, ("eval/knn_top1", result.KnnTop1!.Value), ("eval/knn_top1_random_init", result.KnnTop1RandomInit!.Value));
        if (data.Captions is { } c && trainer.Method is IImageTextMethod trained && random is IImageTextMethod untrained)
        {
            var (mine, baseline) = await RetrievalAsync(data, trained, untrained, c, view, trace, stop).ConfigureAwait(false);
            metrics.Write(trainer.Step, seconds, ("eval/i2t_r1", mine.ImageToTextR1), ("eval/i2t_r5", mine.ImageToTextR5), ("eval/t2i_r1", mine.TextToImageR1),
                ("eval/t2i_r5", mine.TextToImageR5), ("eval/i2t_r1_random_init", baseline.ImageToTextR1), ("eval/t2i_r1_random_init", baseline.TextToImageR1));
            result = result with { Retrieval = mine, RetrievalRandomInit = baseline };
        }
        return result;
    }

    /// <summary>The evaluation view: the centre crop for images, caption tokens alone for text, one un-augmented window for series.</summary>
    private ISampleProcessor View(TrainData data) => data.TextOnly ? new CaptionOnlySampleProcessor() : data.Images
        ? new ImageSampleProcessor(new EvalTransform(settings.Augment.Size, settings.Evaluation.CropFraction), decoders)
        : new SeriesSampleProcessor(new SeriesWindowPolicy(new SeriesWindowOptions { Length = settings.Series.Length, ScaleProbability = 0, NoiseProbability = 0, MaskProbability = 0 }), data.Channels);

    /// <summary>
    /// Image↔text retrieval recall@1/5/10 on the first Evaluation:RetrievalSamples held-out pairs (image i's caption is
    /// text i), for the trained and the random-init towers.
    /// </summary>
    private async Task<(RetrievalResult Trained, RetrievalResult RandomInit)> RetrievalAsync(TrainData data, IImageTextMethod trained, IImageTextMethod untrained,
        ICaptionEncoder captions, ISampleProcessor view, TraceRecorder? trace, CancellationToken stop)
    {
        using var span = trace.Span(TraceRecorder.TrainerLane, "evaluation: retrieval");
        static Func<Batch, Tensor> Both(IImageTextMethod m) => b =>
        {
            using var scope = NewDisposeScope();
            var (tokens, lengths) = TextInput.ToTensors(b, CPU);
            return cat([m.EmbedImages(b), m.EmbedTexts(tokens, lengths)], 1).MoveToOuterDisposeScope();
        };
        long samples = settings.Evaluation.RetrievalSamples;
        var pairs = await FeaturePass.RunAsync(data.Dataset, new ReadPlan(0, settings.Training.Seed, false, data.Split, HeldOut: true), samples,
            view, settings.Batching, [Both(trained), Both(untrained)], stop, captions: captions).ConfigureAwait(false);
        try
        {
            RetrievalResult Score((Tensor Features, Tensor Labels) p)
            {
                long n = Math.Min(p.Features.shape[0], samples), half = p.Features.shape[1] / 2;
                var rows = p.Features.narrow(0, 0, n);
                return RetrievalResult.Of(rows.narrow(1, 0, half), rows.narrow(1, half, half));
            }
            var (mine, baseline) = (Score(pairs[0]), Score(pairs[1]));
            log.LogInformation("Image-text retrieval on {N} held-out pairs: image→text R@1 {I1:F4} R@5 {I5:F4}, text→image R@1 {T1:F4} R@5 {T5:F4}; random init: image→text R@1 {RI1:F4}, text→image R@1 {RT1:F4}",
                mine.Samples, mine.ImageToTextR1, mine.ImageToTextR5, mine.TextToImageR1, mine.TextToImageR5, baseline.ImageToTextR1, baseline.TextToImageR1);
            return (mine, baseline);
        }
        finally
        {
            foreach (var (f, l) in pairs) { f.Dispose(); l.Dispose(); }
        }
    }
}
