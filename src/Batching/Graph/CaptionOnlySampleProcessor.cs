namespace Contrastive.Batching;

/// <summary>
/// Text alone (SimCSE): no view is made and the image bytes are not decoded; each sample contributes only its caption's
/// tokens, which the pipeline writes with <see cref="PipelineSettings.Captions"/> (required with this processor).
/// </summary>
public sealed class CaptionOnlySampleProcessor : ISampleProcessor
{
    public string Name => "captions";

    public int ViewCount => 0;

    public int ViewBytes => 0;

    public int Size => 0;

    public ISampleWorker CreateWorker() => new Worker();

    private sealed class Worker : ISampleWorker
    {
        public void Prepare(ReadOnlyMemory<byte> encoded, long seed, int epoch, long index) { }

        public void WriteView(int view, long seed, int epoch, long index, Span<byte> dst) =>
            throw new InvalidOperationException("a caption-only sample has no views");
    }
}
