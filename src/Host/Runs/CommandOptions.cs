using System.ComponentModel.DataAnnotations;

namespace Contrastive.Host;

/// <summary>`contrastive eval`: what to score. Configuration section "Eval" (how: section "Evaluation").</summary>
public sealed class EvalCommandOptions : IValidatableObject
{
    /// <summary>A checkpoint file written by train.</summary>
    [Required(ErrorMessage = "is required: a checkpoint file written by train")]
    public string? Checkpoint { get; set; }

    /// <summary>Labelled data whose features form the kNN bank and train the probe (optional with <see cref="ZeroShot"/>).</summary>
    public string? TrainData { get; set; }

    /// <summary>Labelled data to classify.</summary>
    [Required(ErrorMessage = "is required: labelled data to classify")]
    public string? TestData { get; set; }

    /// <summary>Also score the architecture at random init (the checkpoint's seed) and raw pixels. Default false.</summary>
    public bool Baselines { get; set; }

    /// <summary>Zero-shot classification of the test data with an image-text checkpoint (clip): class names in prompt templates. Default false.</summary>
    public bool ZeroShot { get; set; }

    /// <summary>Zero-shot: the class names, comma-separated, in label order (label k is the k-th name).</summary>
    public string? Classes { get; set; }

    /// <summary>Zero-shot: a file with one class name per line, in label order (blank lines and lines starting with # are skipped).</summary>
    public string? ClassesFile { get; set; }

    /// <summary>Zero-shot: prompt templates separated by |, each with {} for the class name; several are ensembled. Default: CLIP's "a photo of a {}." and two like it.</summary>
    public string Templates { get; set; } = DefaultTemplates;

    /// <summary>The default prompt templates.</summary>
    public const string DefaultTemplates = "a photo of a {}.|a picture of a {}.|an image of a {}.";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!ZeroShot && string.IsNullOrWhiteSpace(TrainData))
            yield return new ValidationResult("is required: labelled data for the kNN bank and the probe (or --zero-shot with --classes)", [nameof(TrainData)]);
        if (ZeroShot && string.IsNullOrWhiteSpace(Classes) == string.IsNullOrWhiteSpace(ClassesFile))
            yield return new ValidationResult("--zero-shot needs the class names: give exactly one of --classes \"name,name,…\" and --classes-file FILE", [nameof(Classes)]);
        if (!ZeroShot && (!string.IsNullOrWhiteSpace(Classes) || !string.IsNullOrWhiteSpace(ClassesFile)))
            yield return new ValidationResult("class names are for zero-shot classification: add --zero-shot", [nameof(Classes)]);
    }
}

/// <summary>`contrastive bench`: how long and against what consumer. Configuration section "Bench".</summary>
public sealed class BenchOptions
{
    /// <summary>Measured seconds, after the warm-up. Default 20.</summary>
    [Range(0.1, 1e6)]
    public double Seconds { get; set; } = 20;

    /// <summary>Seconds run before measuring, while pools and caches fill; unset: 15% of Seconds, 1 to 60 s.</summary>
    [Range(0.0, 1e6)]
    public double? Warmup { get; set; }

    /// <summary>Simulate a trainer taking this many images per second; unset: a null consumer.</summary>
    [Range(1e-3, 1e9)]
    public double? ConsumerRate { get; set; }

    /// <summary>"all" (the whole pipeline, default) or "ingest" (reading alone: bytes handed on, no decode).</summary>
    [Required, RegularExpression("^(all|ingest)$", ErrorMessage = "must be all or ingest")]
    public string Stage { get; set; } = "all";

    /// <summary>Sample managed allocations (GC AllocationTick events) and print the top types. Default false.</summary>
    public bool TraceAllocations { get; set; }

    /// <summary>
    /// Read each image's caption and tokenize it in the workers into the batch's token plane, as a clip run does (GPT-2 BPE,
    /// Clip:ContextLength ids, 77 by default); the data must have captions. True: with any image method; false: not even for
    /// clip (its image batches alone, the baseline of the captions' cost); unset (default): as the method does (clip only).
    /// </summary>
    public bool? Captions { get; set; }
}

/// <summary>`contrastive pack`: converting a dataset into shards. Configuration section "Pack".</summary>
public sealed class PackOptions
{
    /// <summary>Any supported source: Parquet, tar shards or an image folder.</summary>
    [Required(ErrorMessage = "is required: the data to pack")]
    public string? Input { get; set; }

    /// <summary>Folder for the new shards.</summary>
    [Required(ErrorMessage = "is required: the folder for the new shards")]
    public string? Output { get; set; }

    /// <summary>"parquet" (Hugging Face schema, default) or "wds" (WebDataset tar).</summary>
    [Required, RegularExpression("^(parquet|wds)$", ErrorMessage = "must be parquet or wds")]
    public string Format { get; set; } = "parquet";

    /// <summary>Image bytes per shard, in MB. Default 256.</summary>
    [Range(0.001, 1e7)]
    public double ShardSizeMb { get; set; } = 256;

    /// <summary>Rows per Parquet row group. Default 100.</summary>
    [Range(1, 10_000_000)]
    public int RowsPerRowGroup { get; set; } = 100;

    /// <summary>
    /// Shuffle rows across the output (default true): a folder's files in a permutation of all of them, shards mixed within a
    /// shuffle buffer of at least one output shard's size, so shards packed from class-sorted data are not class-sorted.
    /// </summary>
    public bool Shuffle { get; set; } = true;

    /// <summary>Seed of the shuffle. Default 0.</summary>
    public long Seed { get; set; }
}

/// <summary>`contrastive demo-data`: the synthetic labelled dataset. Configuration section "Demo".</summary>
public sealed class DemoOptions
{
    /// <summary>Folder to write the shards into.</summary>
    [Required(ErrorMessage = "is required: the folder to write into")]
    public string? Output { get; set; }

    /// <summary>
    /// "images" (10 classes, JPEG in Hugging Face-schema Parquet; default), "series" (6 classes of synthetic processes, for CPC) or
    /// "captions" (shapes of several colours, sizes and positions with a sentence describing each: Parquet with a text column, for CLIP).
    /// </summary>
    [Required, RegularExpression("^(images|series|captions)$", ErrorMessage = "must be images, series or captions")]
    public string Kind { get; set; } = "images";

    /// <summary>Images only: "parquet" (Hugging Face-schema shards, default) or "folder" (an ImageFolder tree, root/class-K/N.jpg, stored class by class).</summary>
    [Required, RegularExpression("^(parquet|folder)$", ErrorMessage = "must be parquet or folder")]
    public string Layout { get; set; } = "parquet";

    /// <summary>Images (or series). Default 8000.</summary>
    [Range(1, 100_000_000)]
    public int Count { get; set; } = 8000;

    /// <summary>Seed; the same seed gives the same files. Default 0.</summary>
    public long Seed { get; set; }

    /// <summary>Fixed image width; unset: random 64 to 128.</summary>
    [Range(8, 8192)]
    public int? Width { get; set; }

    /// <summary>Fixed image height; unset: random 64 to 128.</summary>
    [Range(8, 8192)]
    public int? Height { get; set; }

    /// <summary>JPEG quality. Default 90.</summary>
    [Range(1, 100)]
    public int Quality { get; set; } = 90;

    /// <summary>Series only: samples per series. Default 16000.</summary>
    [Range(16, 10_000_000)]
    public int Length { get; set; } = 16000;
}

/// <summary>`bench` and `train`: a timeline trace and an HTML report of the run. Configuration section "Profile".</summary>
public sealed class ProfileOptions
{
    /// <summary>Write a Chrome Trace Event file (Perfetto, chrome://tracing, speedscope) here; unset: no trace.</summary>
    public string? Trace { get; set; }

    /// <summary>Trace only the first this many seconds; unset: the whole run (spans thinned to stay under <see cref="TraceMaxMb"/>).</summary>
    [Range(0.1, 1e7)]
    public double? TraceSeconds { get; set; }

    /// <summary>Size cap of the trace file in MB. Default 4.</summary>
    [Range(0.1, 10_000)]
    public double TraceMaxMb { get; set; } = 4;

    /// <summary>Write the HTML report here (train also writes report.html into its --out folder); unset: bench writes none.</summary>
    public string? Report { get; set; }

    /// <summary>The recorder these options ask for; null without <see cref="Trace"/>.</summary>
    public TraceRecorder? NewRecorder() => Trace is null ? null : new TraceRecorder((long)(TraceMaxMb * 1e6), TraceSeconds);
}

/// <summary>`contrastive report`: a training folder's report. Configuration section "Report".</summary>
public sealed class ReportCommandOptions
{
    /// <summary>A training run's --out folder, finished or running.</summary>
    [Required(ErrorMessage = "is required: a training run's --out folder")]
    public string? Run { get; set; }

    /// <summary>Where to write the page; unset: report.html in the run folder.</summary>
    public string? Output { get; set; }
}

/// <summary>`contrastive embed`: what to embed and where to write it. Configuration section "Embed" (the data: section "Data").</summary>
public sealed class EmbedCommandOptions
{
    /// <summary>A checkpoint file written by train.</summary>
    [Required(ErrorMessage = "is required: a checkpoint file written by train")]
    public string? Checkpoint { get; set; }

    /// <summary>The Parquet file to write (written under a temporary name beside it, then renamed).</summary>
    [Required(ErrorMessage = "is required: the Parquet file to write")]
    public string? Out { get; set; }

    /// <summary>Embed the captions with the text tower of an image-text checkpoint (clip) instead of the images. Default false.</summary>
    public bool Text { get; set; }

    /// <summary>Rows per Parquet row group; unset: as many as hold 32 MB of embeddings, at most 65,536.</summary>
    [Range(1, 10_000_000)]
    public int? RowsPerRowGroup { get; set; }
}
