namespace Contrastive.Ingest;

/// <summary>
/// A set of image shards read as one dataset, whatever the format. Global sample indices are stable: they follow
/// the sorted shard order and the order inside each shard, so seeds, splits and resumption do not depend on timing.
/// </summary>
public interface IImageDataset
{
    /// <summary>The location as given.</summary>
    string Uri { get; }

    /// <summary>"parquet", "webdataset" or "imagefolder".</summary>
    string Format { get; }

    /// <summary>Shard files (Parquet files; for an image folder, the folder itself counts as one).</summary>
    int ShardCount { get; }

    /// <summary>Samples in the dataset; -1 when the format cannot tell without reading it all (tar shards).</summary>
    long SampleCount { get; }

    /// <summary>True when every sample has a label.</summary>
    bool HasLabels { get; }

    /// <summary>
    /// True when the samples carry captions (<see cref="SampleChunk.Captions"/>): a Parquet caption column (txt, text,
    /// caption or the one named) in every shard, key.txt members in tar shards, .txt files beside an image folder's images.
    /// Captions are read when a plan asks for them (<see cref="ReadPlan.Captions"/>); then a sample without one is a bad sample.
    /// </summary>
    bool HasCaptions { get; }

    /// <summary>What each field is read from, e.g. image → "image.bytes", label → "label".</summary>
    IReadOnlyDictionary<string, string> Columns { get; }

    /// <summary>Class names by label, when the format names them (an image folder's class folders).</summary>
    IReadOnlyList<string>? ClassNames { get; }

    /// <summary>Streams the samples as chunks in the order the plan gives.</summary>
    IAsyncEnumerable<SampleChunk> ReadAsync(ReadPlan plan, CancellationToken ct = default);
}
