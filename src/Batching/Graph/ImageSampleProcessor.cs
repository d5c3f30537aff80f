namespace Contrastive.Batching;

/// <summary>Images: a decoder per worker and a view policy.</summary>
public sealed class ImageSampleProcessor(IViewPolicy policy, Func<IImageDecoder>? decoderFactory = null) : ISampleProcessor
{
    private readonly Func<IImageDecoder> _decoders = decoderFactory ?? ImageDecoders.CreateDefault;
    private string? _name;

    public IViewPolicy Policy { get; } = policy;

    /// <summary>The decoder's name: the default's without making one, else that of a decoder made (and disposed) to ask.</summary>
    public string Name => _name ??= decoderFactory is null ? ImageDecoders.DefaultName : NameOf(_decoders());

    private static string NameOf(IImageDecoder decoder)
    {
        try { return decoder.Name; }
        finally { (decoder as IDisposable)?.Dispose(); }
    }

    public int ViewCount => Policy.ViewCount;

    public int ViewBytes => 3 * Policy.Size * Policy.Size;

    public int Size => Policy.Size;

    public int[]? ViewSizes { get; } = Enumerable.Range(0, policy.ViewCount).Any(v => policy.ViewSize(v) != policy.Size)
        ? Enumerable.Range(0, policy.ViewCount).Select(policy.ViewSize).ToArray()
        : null;

    public ISampleWorker CreateWorker() => new Worker(_decoders(), Policy);

    private sealed class Worker(IImageDecoder decoder, IViewPolicy policy) : ISampleWorker, IDecodeSizing, IDisposable
    {
        public void Dispose() => (decoder as IDisposable)?.Dispose();

        private readonly PixelBuffer _pixels = new();
        private readonly ViewWorkspace _workspace = new();
        private long _seed, _index;
        private int _epoch;

        public void Prepare(ReadOnlyMemory<byte> encoded, long seed, int epoch, long index)
        {
            if (encoded.IsEmpty) throw new ImageDecodeException("the sample has no image bytes");
            (_seed, _epoch, _index) = (seed, epoch, index);
            decoder.Decode(encoded.Span, _pixels, this);
        }

        public (int MinWidth, int MinHeight) MinimumSize(int width, int height) => policy.DecodeSize(width, height, _seed, _epoch, _index);

        public void WriteView(int view, long seed, int epoch, long index, Span<byte> dst) =>
            policy.WriteView(_pixels, view, seed, epoch, index, dst, _workspace);
    }
}
