using Contrastive.Augment;

namespace Contrastive.Batching;

/// <summary>What the pipeline makes of each sample.</summary>
/// <param name="Policy">Views per sample and how they are made.</param>
/// <param name="Seed">Run seed; with epoch, sample index and view it fixes every random choice.</param>
/// <param name="DropLast">Drop a final partial batch (training) or publish it (evaluation).</param>
/// <param name="DecoderFactory">Makes one decoder per worker; default SkiaSharp.</param>
/// <param name="Name">Tag for metrics ("train", "eval", "bench").</param>
/// <param name="TrainerSharesCpu">With Workers = 0: leave a core to the trainer (true) or use them all (false).</param>
public sealed record PipelineSettings(IViewPolicy Policy, long Seed, bool DropLast, Func<IImageDecoder>? DecoderFactory = null,
    string Name = "train", bool TrainerSharesCpu = true);
