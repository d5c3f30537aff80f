namespace Contrastive.Ingest;

/// <summary>A decoded WAV file: channel-major samples in [-1, 1] (PCM) or as stored (float).</summary>
public sealed record WavAudio(int Channels, int SampleRate, int Frames, float[] Samples)
{
    /// <summary>Channel <paramref name="c"/>'s samples.</summary>
    public ReadOnlySpan<float> Channel(int c) => Samples.AsSpan(c * Frames, Frames);
}
