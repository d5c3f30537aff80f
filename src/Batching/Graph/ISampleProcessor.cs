using Contrastive.Augment;

namespace Contrastive.Batching;

/// <summary>
/// What the pipeline's workers do with each sample's bytes: images are decoded once and cut into views; series are
/// read as floats and cut into windows. Each worker has its own <see cref="ISampleWorker"/> (scratch memory).
/// </summary>
public interface ISampleProcessor
{
    /// <summary>The decoder or reader, for logs ("skia", "series").</summary>
    string Name { get; }

    int ViewCount { get; }

    /// <summary>Bytes of one view in a batch slot (of view 0 when views differ in size).</summary>
    int ViewBytes { get; }

    /// <summary>Sides of the image views when they differ (multi-crop: global then local views); null when all are <see cref="Size"/>.</summary>
    int[]? ViewSizes => null;

    /// <summary>Bytes of view <paramref name="view"/> of one sample.</summary>
    int ViewBytesOf(int view) => ViewSizes is { } s ? 3 * s[view] * s[view] : ViewBytes;

    /// <summary>Bytes of all views of one sample.</summary>
    int SampleBytes
    {
        get
        {
            int total = 0;
            for (int v = 0; v < ViewCount; v++) total += ViewBytesOf(v);
            return total;
        }
    }

    /// <summary>Image side in pixels (0 for non-image views).</summary>
    int Size { get; }

    /// <summary>Views are float32 values (kept in <see cref="Batch.Values"/>), not bytes.</summary>
    bool FloatViews => false;

    ISampleWorker CreateWorker();
}

/// <summary>One worker's state: prepares a sample, then writes its views. Disposed with the pipeline when it is IDisposable.</summary>
public interface ISampleWorker
{
    /// <summary>
    /// Takes up a sample (decodes it, no larger than its views need); throws <see cref="SampleFormatException"/> for a bad
    /// one. (<paramref name="seed"/>, <paramref name="epoch"/>, <paramref name="index"/>) are those its views will be written with.
    /// </summary>
    void Prepare(ReadOnlyMemory<byte> encoded, long seed, int epoch, long index);

    /// <summary>Writes view <paramref name="view"/> of the prepared sample; a pure function of the sample and (seed, epoch, index, view).</summary>
    void WriteView(int view, long seed, int epoch, long index, Span<byte> dst);
}

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

/// <summary>
/// Series (CPC): each sample's bytes are <see cref="Channels"/> × T float32 values, channel-major, or a WAV file
/// (decoded here, like an image); the one view is a window of <see cref="SeriesWindowPolicy.Length"/> steps, written as
/// float32 [Channels, Length].
/// </summary>
public sealed class SeriesSampleProcessor(SeriesWindowPolicy policy, int channels) : ISampleProcessor
{
    public int Channels { get; } = channels >= 1 ? channels : throw new ArgumentOutOfRangeException(nameof(channels));

    public SeriesWindowPolicy Policy { get; } = policy;

    public string Name => "series";

    public int ViewCount => 1;

    public int ViewBytes => checked(Channels * Policy.Length * sizeof(float));

    public int Size => 0;

    public bool FloatViews => true;

    public ISampleWorker CreateWorker() => new Worker(this);

    private sealed class Worker(SeriesSampleProcessor p) : ISampleWorker
    {
        private ReadOnlyMemory<byte> _sample;
        private float[]? _decoded; // a decoded WAV file's samples, channel-major
        private int _decodedCount;

        public void Prepare(ReadOnlyMemory<byte> encoded, long seed, int epoch, long index)
        {
            var span = encoded.Span;
            if (span.Length >= 12 && span[..4].SequenceEqual("RIFF"u8))
            {
                Contrastive.Ingest.WavAudio wav;
                try { wav = Contrastive.Ingest.WavReader.Read(span, "the sample"); }
                catch (InvalidDataException e) { throw new SampleFormatException(e.Message.Replace("'the sample' ", "", StringComparison.Ordinal)); }
                if (wav.Channels != p.Channels) throw new SampleFormatException($"the WAV file has {wav.Channels} channel(s), the run uses {p.Channels}");
                if (wav.Frames == 0) throw new SampleFormatException("the WAV file has no samples");
                _decoded = wav.Samples;
                _decodedCount = wav.Samples.Length;
                return;
            }
            int floats = encoded.Length / sizeof(float);
            if (floats == 0 || encoded.Length % sizeof(float) != 0 || floats % p.Channels != 0)
                throw new SampleFormatException(encoded.IsEmpty ? "the sample has no values" : $"{encoded.Length} bytes are not {p.Channels} channels of float32 values");
            _sample = encoded;
            _decoded = null;
        }

        public void WriteView(int view, long seed, int epoch, long index, Span<byte> dst)
        {
            ReadOnlySpan<float> values = _decoded is not null
                ? _decoded.AsSpan(0, _decodedCount)
                : System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(_sample.Span);
            p.Policy.Write(values, p.Channels, values.Length / p.Channels, seed, epoch, index, view,
                System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(dst));
        }
    }
}

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
