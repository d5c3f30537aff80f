namespace Contrastive.Ingest;

/// <summary>
/// The unit that flows through the pipeline: the samples of one row group (or another contiguous piece of a
/// shard) with their encoded bytes, labels and global indices. Chunks amortise per-message costs.
/// The image bytes may be slices of pooled buffers: whoever holds the chunk disposes it when done with the
/// bytes (a chunk never disposed is only a missed reuse, not a leak).
/// </summary>
public sealed class SampleChunk : IDisposable
{
    private IDisposable? _owner;

    public SampleChunk(string shard, int part, int epoch, ReadOnlyMemory<byte>[] images, long[] labels, long[] indices, string?[]? keys, IDisposable? owner = null)
    {
        if (labels.Length != images.Length || indices.Length != images.Length || (keys is not null && keys.Length != images.Length))
            throw new ArgumentException("images, labels, indices and keys must have the same length");
        Shard = shard;
        Part = part;
        Epoch = epoch;
        Images = images;
        Labels = labels;
        Indices = indices;
        Keys = keys;
        _owner = owner;
    }

    /// <summary>A chunk over plain arrays (null = a sample without bytes).</summary>
    public SampleChunk(string shard, int part, int epoch, byte[]?[] images, long[] labels, long[] indices, string?[]? keys)
        : this(shard, part, epoch, Array.ConvertAll(images, b => b is null ? default : new ReadOnlyMemory<byte>(b)), labels, indices, keys)
    {
    }

    /// <summary>The shard file this chunk came from (a chunk mixed from several shards: the dataset; see <see cref="ShardOf"/>).</summary>
    public string Shard { get; }

    /// <summary>The row group (or segment) inside the shard (a mixed chunk: its first sample's; see <see cref="PartOf"/>).</summary>
    public int Part { get; }

    /// <summary>Per sample, the shard it came from, when the chunk mixes samples of several read units (null: <see cref="Shard"/> for all).</summary>
    public string[]? Shards { get; init; }

    /// <summary>Per sample, its row group (or segment) inside its shard, when the chunk mixes read units (null: <see cref="Part"/> for all).</summary>
    public int[]? Parts { get; init; }

    /// <summary>The shard sample <paramref name="i"/> came from.</summary>
    public string ShardOf(int i) => Shards?[i] ?? Shard;

    /// <summary>The row group (or segment) of sample <paramref name="i"/> inside its shard.</summary>
    public int PartOf(int i) => Parts?[i] ?? Part;

    /// <summary>The epoch this chunk is read for; part of every sample's random seed (a weighted mix: the mix's epoch; see <see cref="EpochOf"/>).</summary>
    public int Epoch { get; }

    /// <summary>Per sample, the epoch of its own source, when the chunk is a weighted mix of sources (null: <see cref="Epoch"/> for all).</summary>
    public int[]? Epochs { get; init; }

    /// <summary>The epoch sample <paramref name="i"/> was read in (its source's, in a weighted mix): part of its random seed.</summary>
    public int EpochOf(int i) => Epochs?[i] ?? Epoch;

    /// <summary>Where each sample stands in a weighted mix of sources, when the chunk is one (<see cref="WeightedDataset"/>); null otherwise.</summary>
    public MixPositions? Mix { get; init; }

    /// <summary>Position of this chunk's read unit in the epoch's order (over all ranks); see <see cref="ReadCursor"/>.</summary>
    public int Unit { get; init; }

    /// <summary>Samples of the unit (in its read order) that come before this chunk's first sample.</summary>
    public int Offset { get; init; }

    /// <summary>The cursor of sample <paramref name="i"/>: reading from it yields this sample first (<paramref name="i"/> = <see cref="Count"/>: the cursor after the chunk).</summary>
    public ReadCursor CursorAt(int i) => Mix is { } mix ? mix.CursorAt(i) : new(Epoch, Unit, Offset + i);

    public int Count => Images.Length;

    /// <summary>Encoded image bytes per sample; empty when the row had none. Valid until the chunk is disposed.</summary>
    public ReadOnlyMemory<byte>[] Images { get; }

    /// <summary>Class label per sample, or <see cref="Sample.NoLabel"/>.</summary>
    public long[] Labels { get; }

    /// <summary>Global sample index: position of the sample in the dataset's shard order.</summary>
    public long[] Indices { get; }

    /// <summary>Why sample i cannot be used (a malformed series row, say), or null: such samples are skipped and counted.</summary>
    public string?[]? Problems { get; init; }

    /// <summary>
    /// Per sample, its caption as UTF-8 text (empty when it has none), when the dataset has captions
    /// (<see cref="IImageDataset.HasCaptions"/>) and the plan asked for them (<see cref="ReadPlan.Captions"/>); null otherwise. Like the image bytes, captions may be slices of the pooled
    /// buffers this chunk returns on <see cref="Dispose"/>. A sample of a captioned dataset whose caption is missing or blank
    /// has a <see cref="Problems"/> entry (see <see cref="MarkMissingCaptions"/>).
    /// </summary>
    public ReadOnlyMemory<byte>[]? Captions { get; init; }

    /// <summary>
    /// Sets a problem for every sample whose caption is empty or white space only (a bad sample, counted like an undecodable
    /// image) and returns the problems (<paramref name="problems"/>, created when needed; null when every caption is there).
    /// </summary>
    public static string?[]? MarkMissingCaptions(ReadOnlyMemory<byte>[] captions, string?[]? problems)
    {
        for (int i = 0; i < captions.Length; i++)
        {
            if (!CaptionText.IsBlank(captions[i].Span)) continue;
            problems ??= new string?[captions.Length];
            problems[i] ??= captions[i].IsEmpty ? "the sample has no caption (the dataset has captions)" : "the sample's caption is white space only";
        }
        return problems;
    }

    /// <summary>Per-sample key (the stored path) when the shard has one.</summary>
    public string?[]? Keys { get; }

    /// <summary>A name for sample <paramref name="i"/> that a person can find again: the key, or shard and row.</summary>
    public string Describe(int i) => Keys?[i] is { } key ? $"{ShardOf(i)} key '{key}'" : $"{ShardOf(i)} row group {PartOf(i)} sample index {Indices[i]}";

    /// <summary>A chunk of the samples at <paramref name="order"/>, in that order; it takes over this chunk's buffers.</summary>
    public SampleChunk Select(IReadOnlyList<int> order) => Reorder(order, 0);

    /// <summary>A chunk without the first <paramref name="count"/> samples (its offset moves on); it takes over this chunk's buffers.</summary>
    public SampleChunk Skip(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, Count);
        var order = new int[Count - count];
        for (int j = 0; j < order.Length; j++) order[j] = count + j;
        return Reorder(order, count);
    }

    private SampleChunk Reorder(IReadOnlyList<int> order, int offsetDelta)
    {
        if (Mix is not null) throw new NotSupportedException("A chunk of a weighted mix keeps its samples in the mix's order.");
        var images = new ReadOnlyMemory<byte>[order.Count];
        var labels = new long[order.Count];
        var indices = new long[order.Count];
        var keys = Keys is null ? null : new string?[order.Count];
        var problems = Problems is null ? null : new string?[order.Count];
        var captions = Captions is null ? null : new ReadOnlyMemory<byte>[order.Count];
        var shards = Shards is null ? null : new string[order.Count];
        var parts = Parts is null ? null : new int[order.Count];
        var epochs = Epochs is null ? null : new int[order.Count];
        for (int j = 0; j < order.Count; j++)
        {
            int i = order[j];
            images[j] = Images[i];
            labels[j] = Labels[i];
            indices[j] = Indices[i];
            if (keys is not null) keys[j] = Keys![i];
            if (problems is not null) problems[j] = Problems![i];
            if (captions is not null) captions[j] = Captions![i];
            if (shards is not null) shards[j] = Shards![i];
            if (parts is not null) parts[j] = Parts![i];
            if (epochs is not null) epochs[j] = Epochs![i];
        }
        var owner = Interlocked.Exchange(ref _owner, null);
        return new SampleChunk(Shard, Part, Epoch, images, labels, indices, keys, owner)
            { Unit = Unit, Offset = Offset + offsetDelta, Problems = problems, Captions = captions, Shards = shards, Parts = parts, Epochs = epochs };
    }

    /// <summary>The same samples placed at <paramref name="unit"/> and <paramref name="offset"/>; it takes over this chunk's buffers.</summary>
    internal SampleChunk At(int unit, int offset) => Mix is not null ? throw new NotSupportedException("A chunk of a weighted mix has no place in one source's read units.") :
        new(Shard, Part, Epoch, Images, Labels, Indices, Keys, TakeOwner()) { Unit = unit, Offset = offset, Problems = Problems, Captions = Captions, Shards = Shards, Parts = Parts, Epochs = Epochs };

    /// <summary>Hands over what returns this chunk's buffers (the chunk no longer returns them on <see cref="Dispose"/>).</summary>
    internal IDisposable? TakeOwner() => Interlocked.Exchange(ref _owner, null);

    /// <summary>Returns the pooled buffers the image bytes live in.</summary>
    public void Dispose() => Interlocked.Exchange(ref _owner, null)?.Dispose();
}
