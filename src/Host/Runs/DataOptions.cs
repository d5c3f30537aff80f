using System.ComponentModel.DataAnnotations;

namespace Contrastive.Host;

/// <summary>Where the data is. Configuration section "Data".</summary>
public sealed class DataOptions
{
    /// <summary>Data URI: a Parquet file, a directory of them or a glob. Empty = the demo dataset under ./data/demo (made on first use).</summary>
    public string Uri { get; set; } = "";

    /// <summary>Image column (default: auto-detected among image, jpg, png, webp, ...).</summary>
    public string? ImageColumn { get; set; }

    /// <summary>Label column (default: auto-detected among label, cls, class, ...).</summary>
    public string? LabelColumn { get; set; }

    /// <summary>Where the demo dataset is written when no URI is given. Default "data/demo".</summary>
    [Required]
    public string DemoPath { get; set; } = "data/demo";

    /// <summary>Images in the demo dataset. Default 8000.</summary>
    [Range(10, 10_000_000)]
    public int DemoCount { get; set; } = 8000;
}
