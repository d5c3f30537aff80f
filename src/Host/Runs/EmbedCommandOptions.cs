using System.ComponentModel.DataAnnotations;

namespace Contrastive.Host;

/// <summary>`contrastive embed`: what to embed and where to write it. Configuration section "Embed" (the data: section "Data").</summary>
internal sealed class EmbedCommandOptions
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
