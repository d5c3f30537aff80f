namespace Contrastive.Batching;

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
