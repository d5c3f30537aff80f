namespace Contrastive.Ingest;

/// <summary>
/// Series samples as read (after the plan's split, shuffle and cursor; through the shuffle buffer, of several row groups): per sample <see cref="Channels"/>
/// channels of <see cref="Lengths"/>[i] values each, channel-major (channel 0's values, then channel 1's, ...).
/// A sample whose values cannot be used (an empty list, channels of different lengths) has length 0 and a
/// <see cref="Problems"/> entry saying why: the consumer skips and counts it, as it does an undecodable image.
/// </summary>
public sealed class SeriesChunk : IDisposable
{
    private IDisposable? _owner;

    /// <param name="values">Per sample its float32 values as bytes (channels × length × 4), slices of buffers <paramref name="owner"/> returns.</param>
    public SeriesChunk(string shard, int part, int epoch, int channels, ReadOnlyMemory<byte>[] values, int[] lengths, long[] labels, long[] indices,
        string?[]? problems = null, IDisposable? owner = null)
    {
        _owner = owner;
        int n = values.Length;
        if (lengths.Length != n || labels.Length != n || indices.Length != n || (problems is not null && problems.Length != n))
            throw new ArgumentException("values, lengths, labels, indices and problems must have the same length");
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        Shard = shard;
        Part = part;
        Epoch = epoch;
        Channels = channels;
        Values = values;
        Lengths = lengths;
        Labels = labels;
        Indices = indices;
        Problems = problems ?? new string?[n];
    }

    public string Shard { get; }

    /// <summary>The row group inside the shard.</summary>
    public int Part { get; }

    public int Epoch { get; }

    /// <summary>Position of the row group in the epoch's order; see <see cref="ReadCursor"/>.</summary>
    public int Unit { get; init; }

    /// <summary>Samples of the unit that come before this chunk's first.</summary>
    public int Offset { get; init; }

    public int Channels { get; }

    public int Count => Values.Length;

    /// <summary>Sample i's values as bytes: <see cref="Channels"/> × <see cref="Lengths"/>[i] float32, channel-major.</summary>
    public ReadOnlyMemory<byte>[] Values { get; }

    /// <summary>Time steps per sample (0: unusable, see <see cref="Problems"/>).</summary>
    public int[] Lengths { get; }

    public long[] Labels { get; }

    public long[] Indices { get; }

    /// <summary>Why a sample cannot be used, or null.</summary>
    public string?[] Problems { get; }

    /// <summary>Channel <paramref name="c"/> of sample <paramref name="i"/>.</summary>
    public ReadOnlySpan<float> Channel(int i, int c) =>
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(Values[i].Span).Slice(c * Lengths[i], Lengths[i]);

    public ReadCursor CursorAt(int i) => new(Epoch, Unit, Offset + i);

    /// <summary>Sample i as a person can find it again.</summary>
    public string Describe(int i) => $"{Shard} row group {Part} sample index {Indices[i]}";

    /// <summary>
    /// The same samples as a <see cref="SampleChunk"/> for the input pipeline: each sample's bytes are its float32
    /// values; unusable rows carry their problem. It takes over this chunk's buffers.
    /// </summary>
    public SampleChunk ToSampleChunk() =>
        new(Shard, Part, Epoch, Values, Labels, Indices, null, Interlocked.Exchange(ref _owner, null))
            { Unit = Unit, Offset = Offset, Problems = Problems.Any(p => p is not null) ? Problems : null };

    /// <summary>
    /// The series of a chunk made by <see cref="ToSampleChunk"/> (perhaps mixed with others' samples by the shuffle buffer):
    /// lengths from the byte counts. It takes over the chunk's buffers.
    /// </summary>
    internal static SeriesChunk FromSampleChunk(SampleChunk chunk, int channels)
    {
        int n = chunk.Count;
        var lengths = new int[n];
        var problems = new string?[n];
        for (int i = 0; i < n; i++)
        {
            problems[i] = chunk.Problems?[i];
            if (problems[i] is null) lengths[i] = chunk.Images[i].Length / (sizeof(float) * channels);
        }
        return new SeriesChunk(chunk.Shard, chunk.Part, chunk.Epoch, channels, chunk.Images, lengths, chunk.Labels, chunk.Indices, problems, chunk.TakeOwner())
            { Unit = chunk.Unit, Offset = chunk.Offset };
    }

    /// <summary>Returns the pooled buffer the values live in.</summary>
    public void Dispose() => Interlocked.Exchange(ref _owner, null)?.Dispose();
}
