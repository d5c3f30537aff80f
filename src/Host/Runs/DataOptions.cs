using System.ComponentModel.DataAnnotations;

namespace Contrastive.Host;

/// <summary>Where the data is. Configuration section "Data".</summary>
public sealed class DataOptions : IValidatableObject
{
    /// <summary>Data URI: a Parquet file, a directory of them or a glob. Empty = the demo dataset under ./data/demo (made on first use).</summary>
    public string Uri { get; set; } = "";

    /// <summary>Image column (default: auto-detected among image, jpg, png, webp, ...).</summary>
    public string? ImageColumn { get; set; }

    /// <summary>Label column (default: auto-detected among label, cls, class, ...).</summary>
    public string? LabelColumn { get; set; }

    /// <summary>Time-series Parquet: the list column(s) holding the channels, comma-separated (default: detected).</summary>
    public string? SeriesColumns { get; set; }

    /// <summary>Where the demo series dataset is written when cpc is run without a URI. Default "data/demo-series".</summary>
    [Required]
    public string DemoSeriesPath { get; set; } = "data/demo-series";

    /// <summary>Where the demo dataset is written when no URI is given. Default "data/demo".</summary>
    [Required]
    public string DemoPath { get; set; } = "data/demo";

    /// <summary>This process's rank when several share the data. Default: the RANK environment variable (torchrun), else 0.</summary>
    [Range(0, 1_000_000)]
    public int Rank { get; set; } = EnvInt("RANK", 0);

    /// <summary>Processes sharing the data. Default: the WORLD_SIZE environment variable (torchrun), else 1.</summary>
    [Range(1, 1_000_000)]
    public int WorldSize { get; set; } = EnvInt("WORLD_SIZE", 1);

    private static int EnvInt(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int v) ? v : fallback;

    /// <summary>Images in the demo dataset. Default 8000.</summary>
    [Range(10, 10_000_000)]
    public int DemoCount { get; set; } = 8000;

    /// <summary>Rules across fields: this rank is one of the world's.</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Rank >= WorldSize)
            yield return new ValidationResult($"must be below Data:WorldSize ({WorldSize}; RANK / WORLD_SIZE), not {Rank}", [nameof(Rank)]);
    }
}
