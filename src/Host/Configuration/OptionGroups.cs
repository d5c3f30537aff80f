using Contrastive.Training;

namespace Contrastive.Host;

/// <summary>The options several commands share, each declared once here; a command lists the groups it takes.</summary>
internal static class OptionGroups
{
    private const string DataKinds = "a Parquet file, directory or glob; tar shards; an image folder; IDX; s3://bucket/prefix";

    /// <summary>
    /// --data: where the samples are; <paramref name="required"/> false: unset means the demo dataset; <paramref name="weighted"/>:
    /// repeated as LOCATION:WEIGHT, weighted sources. Every command's --data replaces Data:Sources too.
    /// </summary>
    public static OptionSpec Data(bool required, bool weighted = false) => new("--data", "Data:Uri",
        (required ? $"Data: {DataKinds} (required)." : $"Data: {DataKinds}. Unset: the demo dataset (written on first use).")
        + (weighted ? " Repeat as --data LOCATION:WEIGHT for weighted sources mixed in every batch [Data:Sources]." : ""))
    { Many = true };

    /// <summary>The columns of Parquet data (image, label, caption), detected when not given.</summary>
    public static IEnumerable<OptionSpec> Columns { get; } =
    [
        new("--image-column", "Data:ImageColumn", "Image column of Parquet data.", "detected"),
        new("--label-column", "Data:LabelColumn", "Label column of Parquet data.", "detected"),
        TextColumn,
    ];

    /// <summary>The caption column: the text group (with the methods' caption flags).</summary>
    public static OptionSpec TextColumn => new("--text-column", "Data:TextColumn",
        "Caption column of Parquet data (tar: key.txt; image folder: a .txt beside each image).", "detected");

    /// <summary>The list column(s) of time-series Parquet.</summary>
    public static OptionSpec SeriesColumns => new("--series-columns", "Data:SeriesColumns",
        "Series methods: list column(s) of time-series Parquet, comma-separated.", "detected");

    /// <summary>The shuffle buffer of shard data.</summary>
    public static OptionSpec ShuffleBuffer => new("--shuffle-buffer", "Data:ShuffleBufferSamples",
        "Shard data: mix samples across read units up to this many at a time (0 = one unit at a time).");

    /// <summary>The local shard cache of s3:// data.</summary>
    public static OptionSpec Cache => new("--cache", "Data:CacheDir",
        "s3:// data: keep the shards read in this folder (Data:CacheMb at most), fetched ahead in read order; later epochs read it.", "none");

    /// <summary>The image decoder.</summary>
    public static OptionSpec Decoder => new("--decoder", "Decoder:Name", "Image decoder: auto, turbojpeg, skia or imagesharp.");

    /// <summary>Where the networks run and how many workers feed them; <paramref name="workers"/> says what the workers do.</summary>
    public static IEnumerable<OptionSpec> Runtime(string workers, string workersDefault = "0 (cores - 1)") =>
    [
        new("--device", "Training:Device", "auto, cpu, cuda or cuda:N."),
        new("--workers", "Batching:Workers", workers, workersDefault),
    ];

    /// <summary>The batches the pipeline makes: size, view side, ordered assembly.</summary>
    public static IEnumerable<OptionSpec> Batches(string batchSize) =>
    [
        new("--batch-size", "Batching:BatchSize", batchSize),
        new("--image-size", "Augment:Size", "View side in pixels."),
        new("--deterministic", "Batching:Deterministic", "Deterministic batch composition (ordered assembly), for runs that resume exactly."),
    ];

    /// <summary>The evaluation view's centre crop.</summary>
    public static OptionSpec CropFraction(string? defaultNote = null) => new("--crop-fraction", "Evaluation:CropFraction",
        "Centre crop as a share of the shorter side before resizing to the checkpoint's image size (1 = whole image).", defaultNote);

    /// <summary>The flags the registered methods declare (<see cref="MethodRegistration.Flags"/>), each once; <paramref name="captionsOnly"/>: those that shape caption tokens.</summary>
    public static IEnumerable<OptionSpec> MethodFlags(bool captionsOnly = false) =>
        MethodRegistry.All.SelectMany(m => m.Flags).Where(f => !captionsOnly || f.Captions)
            .DistinctBy(f => f.Name, StringComparer.Ordinal).Select(f => new OptionSpec(f.Name, f.Key, f.Description));

    /// <summary>The profiling options bench and train share: a timeline trace, an HTML report, and the queue sizes the report's advice names.</summary>
    public static IEnumerable<OptionSpec> Profile(string reportDefault) =>
    [
        new("--prefetch", "Batching:Prefetch", "Finished batches that may wait for the consumer."),
        new("--chunk-queue", "Batching:ChunkQueue", "Chunks (row groups) read ahead of the workers."),
        new("--trace", "Profile:Trace", "Write a timeline trace (Chrome Trace Event JSON: Perfetto, chrome://tracing, speedscope) to FILE."),
        new("--trace-seconds", "Profile:TraceSeconds", "Trace only the first N seconds.", "the whole run, thinned to stay under --trace-max-mb"),
        new("--trace-max-mb", "Profile:TraceMaxMb", "Size cap of the trace file in MB."),
        new("--report", "Profile:Report", "Write an HTML report (plots, per-stage table, input- or compute-bound verdict) to FILE.", reportDefault),
    ];
}
