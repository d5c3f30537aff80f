using System.ComponentModel.DataAnnotations;

namespace Contrastive.Host;

/// <summary>`contrastive pack`: converting a dataset into shards. Configuration section "Pack".</summary>
internal sealed class PackOptions
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
