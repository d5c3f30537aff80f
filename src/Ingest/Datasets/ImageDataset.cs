namespace Contrastive.Ingest;

/// <summary>Opens any supported image dataset, detecting the format from what the location holds.</summary>
public static class ImageDataset
{
    /// <summary>
    /// A Parquet file, directory or glob → Parquet shards; a directory of images (class sub-folders, or flat) → an
    /// image folder. A directory holding both Parquet files and images is read as Parquet.
    /// </summary>
    /// <exception cref="DataSourceException">The location does not exist or holds nothing readable.</exception>
    public static async Task<IImageDataset> OpenAsync(string uri, string? imageColumn = null, string? labelColumn = null, CancellationToken ct = default)
    {
        string local = uri.StartsWith("file://", StringComparison.OrdinalIgnoreCase) ? uri[7..] : uri;
        if (Directory.Exists(local) && !ShardSource.HasFiles(local, ".parquet"))
        {
            if (ImageFolderDataset.HasImages(local)) return ImageFolderDataset.Open(uri, local);
            throw new DataSourceException(uri, $"Data location '{uri}' is a directory with neither '*.parquet' shards nor images ({string.Join(", ", ImageFolderDataset.Extensions)}).");
        }
        return await ParquetImageDataset.OpenAsync(uri, imageColumn, labelColumn, ct).ConfigureAwait(false);
    }
}
