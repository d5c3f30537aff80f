namespace Contrastive.Ingest;

/// <summary>
/// The unit that flows through the pipeline: the samples of one row group (or another contiguous piece of a
/// shard) with their encoded bytes, labels and global indices. Chunks amortise per-message costs.
/// </summary>
public sealed class SampleChunk
{
    public SampleChunk(string shard, int part, int epoch, byte[]?[] images, long[] labels, long[] indices, string?[]? keys)
    {
        if (labels.Length != images.Length || indices.Length != images.Length)
            throw new ArgumentException("images, labels and indices must have the same length");
        Shard = shard;
        Part = part;
        Epoch = epoch;
        Images = images;
        Labels = labels;
        Indices = indices;
        Keys = keys;
    }

    /// <summary>The shard file this chunk came from.</summary>
    public string Shard { get; }

    /// <summary>The row group (or segment) inside the shard.</summary>
    public int Part { get; }

    /// <summary>The epoch this chunk is read for; part of every sample's random seed.</summary>
    public int Epoch { get; }

    public int Count => Images.Length;

    /// <summary>Encoded image bytes per sample; null when the row had none.</summary>
    public byte[]?[] Images { get; }

    /// <summary>Class label per sample, or <see cref="Sample.NoLabel"/>.</summary>
    public long[] Labels { get; }

    /// <summary>Global sample index: position of the sample in the dataset's shard order.</summary>
    public long[] Indices { get; }

    /// <summary>Per-sample key (the stored path) when the shard has one.</summary>
    public string?[]? Keys { get; }

    /// <summary>A name for sample <paramref name="i"/> that a person can find again: the key, or shard and row.</summary>
    public string Describe(int i) => Keys?[i] is { } key ? $"{Shard} key '{key}'" : $"{Shard} row group {Part} sample index {Indices[i]}";
}
