using Contrastive.Augment;

namespace Contrastive.Batching;

/// <summary>What the pipeline makes of each sample.</summary>
/// <param name="Processor">What workers do with a sample: decode and cut image views, or cut series windows.</param>
/// <param name="Seed">Run seed; with epoch, sample index and view it fixes every random choice.</param>
/// <param name="DropLast">Drop a final partial batch (training) or publish it (evaluation).</param>
/// <param name="Name">Tag for metrics ("train", "eval", "bench").</param>
/// <param name="TrainerSharesCpu">With Workers = 0: leave a core to the trainer (true) or use them all (false).</param>
public sealed record PipelineSettings(ISampleProcessor Processor, long Seed, bool DropLast, string Name = "train", bool TrainerSharesCpu = true)
{
    /// <summary>Images with the view policy <paramref name="Policy"/>, decoded by <paramref name="DecoderFactory"/>'s decoders (default <see cref="ImageDecoders.CreateDefault"/>: TurboJPEG when installed, else SkiaSharp).</summary>
    public PipelineSettings(IViewPolicy Policy, long Seed, bool DropLast, Func<IImageDecoder>? DecoderFactory = null, string Name = "train", bool TrainerSharesCpu = true)
        : this(new ImageSampleProcessor(Policy, DecoderFactory), Seed, DropLast, Name, TrainerSharesCpu)
    {
    }

    /// <summary>
    /// Tokenizes each sample's caption into its slot's row of <see cref="Batch.Tokens"/> (the chunks must carry captions:
    /// read with <c>ReadPlan.Captions = true</c>); a caption it cannot encode makes a bad sample. Null: no text, batches
    /// have no token plane.
    /// </summary>
    public ICaptionEncoder? Captions { get; init; }

    /// <summary>Where the reader, the workers and the assembler record their spans (a lane each); null: no trace.</summary>
    public TraceRecorder? Trace { get; init; }
}
