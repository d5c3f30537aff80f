namespace Contrastive.Batching;

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
