using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace Contrastive.Host;

/// <summary>Where the data is. Configuration section "Data".</summary>
internal sealed class DataOptions : IValidatableObject
{
    /// <summary>Data URI: a Parquet file, a directory of them or a glob. Empty = the demo dataset under ./data/demo (made on first use).</summary>
    public string Uri { get; set; } = "";

    /// <summary>
    /// Weighted sources: several image datasets read as one stream, each sample taken from the source furthest behind its
    /// share, so every batch holds each source's weight (to within a sample). Each source is read in its own epochs (a small
    /// source is read again, not used up), and a run resumes exactly where it stopped. A list of { "Uri": …, "Weight": … }
    /// (weights: positive, normalised to sum 1); on the command line, repeat --data URI:WEIGHT. Set, Data:Uri must be
    /// empty. Train only. Default: none (one source, Data:Uri).
    /// </summary>
    public List<DataSource> Sources { get; set; } = [];

    /// <summary>Image column (default: auto-detected among image, jpg, png, webp, ...).</summary>
    public string? ImageColumn { get; set; }

    /// <summary>Label column (default: auto-detected among label, cls, class, ...).</summary>
    public string? LabelColumn { get; set; }

    /// <summary>Caption column of Parquet data (default: detected among txt, text, caption). Tar shards: key.txt; image folders: a .txt beside each image.</summary>
    public string? TextColumn { get; set; }

    /// <summary>Time-series Parquet: the list column(s) holding the channels, comma-separated (default: detected).</summary>
    public string? SeriesColumns { get; set; }

    /// <summary>Where the demo series dataset is written when cpc is run without a URI. Default "data/demo-series".</summary>
    [Required]
    public string DemoSeriesPath { get; set; } = "data/demo-series";

    /// <summary>Where the captioned demo dataset is written when a method that reads captions (clip) is run without a URI. Default "data/demo-captions".</summary>
    [Required]
    public string DemoCaptionsPath { get; set; } = "data/demo-captions";

    /// <summary>Where the demo dataset is written when no URI is given. Default "data/demo".</summary>
    [Required]
    public string DemoPath { get; set; } = "data/demo";

    /// <summary>This process's rank when several share the data. Default: the RANK environment variable (torchrun; the host binds it), else 0.</summary>
    [Range(0, 1_000_000)]
    public int Rank { get; set; }

    /// <summary>Processes sharing the data. Default: the WORLD_SIZE environment variable (torchrun; the host binds it), else 1.</summary>
    [Range(1, 1_000_000)]
    public int WorldSize { get; set; } = 1;

    /// <summary>
    /// Shuffle buffer of shard data (Parquet, tar), in samples: each epoch mixes the samples of this many consecutive read
    /// units of its shuffled unit order (row groups, tar pieces), within <see cref="ShuffleBufferMb"/> too; 0 or 1: one unit
    /// at a time. Image folders and IDX files are read in a permutation of all samples. Default 4096.
    /// </summary>
    [Range(0, 100_000_000)]
    public int ShuffleBufferSamples { get; set; } = Contrastive.Ingest.ReadPlan.DefaultShuffleBufferSamples;

    /// <summary>Shuffle buffer bound in MB of encoded sample bytes held at once. Default 256.</summary>
    [Range(0.0, 1_000_000.0)]
    public double ShuffleBufferMb { get; set; } = Contrastive.Ingest.ReadPlan.DefaultShuffleBufferBytes / 1048576.0;

    /// <summary>The buffer bounds on a read plan.</summary>
    public Contrastive.Ingest.ReadPlan WithBuffer(Contrastive.Ingest.ReadPlan plan) =>
        plan with { ShuffleBufferSamples = ShuffleBufferSamples, ShuffleBufferBytes = (long)(ShuffleBufferMb * 1048576) };

    /// <summary>
    /// Local shard cache of s3:// data: a folder where each shard read from object storage is kept (written whole and
    /// checked by length and checksum when reused), fetched ahead in the exact order this rank reads, so later epochs read
    /// local disk. Processes on one machine may share a folder. Empty (the default): no cache.
    /// </summary>
    public string? CacheDir { get; set; }

    /// <summary>The most MB the shard cache's folder may hold on disk; shards this rank has finished this epoch make room first. Default 10240.</summary>
    [Range(1.0, 1e9)]
    public double CacheMb { get; set; } = 10240;

    /// <summary>The most MB of shards the cache fetches ahead of the reader (at least one shard). Default 1024.</summary>
    [Range(1.0, 1e9)]
    public double CacheAheadMb { get; set; } = 1024;

    /// <summary>The most shard fetches the cache makes at once. Default 4.</summary>
    [Range(1, 64)]
    public int CacheRequests { get; set; } = 4;

    /// <summary>The shard cache these options ask for, or null without <see cref="CacheDir"/>.</summary>
    public Contrastive.Ingest.ShardCacheOptions? Cache() => string.IsNullOrWhiteSpace(CacheDir) ? null : new()
    {
        Directory = CacheDir, BudgetBytes = (long)(CacheMb * 1048576), AheadBytes = (long)(CacheAheadMb * 1048576), Requests = CacheRequests,
    };

    /// <summary>Images in the demo dataset. Default 8000.</summary>
    [Range(10, 10_000_000)]
    public int DemoCount { get; set; } = 8000;

    /// <summary>Rules across fields: this rank is one of the world's; one source or weighted sources, each with a location and a positive weight.</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Rank >= WorldSize)
            yield return new ValidationResult($"must be below Data:WorldSize ({WorldSize}; RANK / WORLD_SIZE), not {Rank}", [nameof(Rank)]);
        if (Sources.Count > 0 && !string.IsNullOrWhiteSpace(Uri))
            yield return new ValidationResult($"is set ('{Uri}') and so is Data:Sources ({Sources.Count} weighted source(s)): give one or the other", [nameof(Uri)]);
        for (int i = 0; i < Sources.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(Sources[i].Uri))
                yield return new ValidationResult($"entry {i} has no Uri", [nameof(Sources)]);
            if (!double.IsFinite(Sources[i].Weight) || Sources[i].Weight <= 0)
                yield return new ValidationResult($"entry {i} ('{Sources[i].Uri}') has weight {Sources[i].Weight.ToString(CultureInfo.InvariantCulture)}: a weight is a positive number", [nameof(Sources)]);
        }
    }

    /// <summary>Whether the data is several weighted sources (<see cref="Sources"/>).</summary>
    public bool Weighted => Sources.Count > 0;

    /// <summary>
    /// The --data values given on the command line replace Data:Uri and Data:Sources from every other source: one value is
    /// the location (a weight on it is allowed and means nothing), several are weighted sources. Each is LOCATION or
    /// LOCATION:WEIGHT (the weight after the last colon, when that is a number; default 1).
    /// </summary>
    /// <exception cref="UsageException">A weight that is not a positive number, or an empty location.</exception>
    public void UseCommandLine(IReadOnlyList<string> values, string flag)
    {
        var sources = values.Select(v => ParseSource(v, flag)).ToList();
        (Uri, Sources) = sources.Count == 1 ? (sources[0].Uri, []) : ("", sources);
    }

    /// <summary>LOCATION or LOCATION:WEIGHT (see <see cref="UseCommandLine"/>).</summary>
    internal static DataSource ParseSource(string value, string flag)
    {
        int colon = value.LastIndexOf(':');
        string uri = value;
        double weight = 1;
        if (colon > 0 && colon < value.Length - 1 && !value[(colon + 1)..].StartsWith('/')
            && double.TryParse(value[(colon + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out double w))
        {
            (uri, weight) = (value[..colon], w);
            if (!double.IsFinite(weight) || weight <= 0)
                throw new UsageException($"{flag} '{value}': the weight after the last ':' is {value[(colon + 1)..]}; a weight is a positive number.");
        }
        if (string.IsNullOrWhiteSpace(uri)) throw new UsageException($"{flag} '{value}': no location before the weight.");
        return new DataSource { Uri = uri, Weight = weight };
    }

    /// <summary>A command that reads one location refuses weighted sources instead of ignoring them.</summary>
    /// <exception cref="UsageException">Data:Sources is set.</exception>
    public void RequireOneSource(string command)
    {
        if (Weighted)
            throw new UsageException($"Data:Sources is set ({Sources.Count} weighted sources): {command} reads one location; give it with --data (weighted sources are read by train).");
    }
}

/// <summary>One of several weighted sources (<see cref="DataOptions.Sources"/>).</summary>
internal sealed class DataSource
{
    /// <summary>The location, as for Data:Uri.</summary>
    public string Uri { get; set; } = "";

    /// <summary>The source's weight (positive; the weights are normalised to sum 1). Default 1.</summary>
    public double Weight { get; set; } = 1;

    public override string ToString() => $"{Uri}:{Weight.ToString(CultureInfo.InvariantCulture)}";
}
