using System.ComponentModel.DataAnnotations;

namespace Contrastive.Host;

/// <summary>`contrastive demo-data`: the synthetic labelled dataset. Configuration section "Demo".</summary>
internal sealed class DemoOptions
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
