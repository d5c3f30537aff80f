namespace Contrastive.Ingest;

/// <summary>Opens any supported image dataset, detecting the format from what the location holds.</summary>
public static class ImageDataset
{
    /// <summary>
    /// A Parquet file, directory or glob → Parquet shards; .tar / .tar.gz / .tgz files (or a directory or glob of them)
    /// → WebDataset shards; an IDX images file (MNIST's "…-images-idx3-ubyte[.gz]") → its images and the labels file beside it; a directory of images (class sub-folders, or flat) → an image folder. A directory is read
    /// as Parquet if it has Parquet files, else as WebDataset if it has tar shards, else as an image folder.
    /// </summary>
    /// <exception cref="DataSourceException">The location does not exist or holds nothing readable.</exception>
    public static Task<IImageDataset> OpenAsync(string uri, string? imageColumn = null, string? labelColumn = null, CancellationToken ct = default)
        => OpenAsync(uri, imageColumn, labelColumn, null, ct);

    /// <summary>
    /// As above, with the Parquet caption column named (<paramref name="textColumn"/>; null: detected among txt, text and
    /// caption). Tar shards take captions from key.txt, image folders from a .txt file beside each image.
    /// </summary>
    /// <param name="store">Object storage's requests and retries, for s3:// data (null: the defaults).</param>
    public static async Task<IImageDataset> OpenAsync(string uri, string? imageColumn, string? labelColumn, string? textColumn, CancellationToken ct = default,
        ObjectStoreOptions? store = null)
    {
        if (ObjectStore.IsS3(uri))
        {
            if (WebDataset.IsShard(uri)) return await WebDataset.OpenAsync(uri, ct: ct, store: store).ConfigureAwait(false);
            var parquet = await ObjectStore.ListAsync(uri, [".parquet"], ct, store).ConfigureAwait(false);
            if (parquet.Count > 0)
                return await ParquetImageDataset.OpenAsync(uri, parquet.Select(o => (o.Uri, (long?)o.Size)).ToList(), imageColumn, labelColumn, textColumn, ct, store).ConfigureAwait(false);
            return await WebDataset.OpenAsync(uri, ct: ct, store: store).ConfigureAwait(false);
        }
        string local = uri.StartsWith("file://", StringComparison.OrdinalIgnoreCase) ? uri[7..] : uri;
        if (WebDataset.IsShard(local)) return await WebDataset.OpenAsync(uri, ct: ct, store: store).ConfigureAwait(false);
        if (IdxDataset.IsImagesFile(local)) return IdxDataset.Open(uri, local);
        if (Directory.Exists(local) && !ShardSource.HasFiles(local, ".parquet"))
        {
            if (WebDataset.ShardExtensions.Any(e => ShardSource.HasFiles(local, e))) return await WebDataset.OpenAsync(uri, ct: ct, store: store).ConfigureAwait(false);
            if (ImageFolderDataset.HasImages(local)) return ImageFolderDataset.Open(uri, local);
            throw new DataSourceException(uri, $"Data location '{uri}' is a directory with neither '*.parquet' shards nor images ({string.Join(", ", ImageFolderDataset.Extensions)}).");
        }
        return await ParquetImageDataset.OpenAsync(uri, imageColumn, labelColumn, textColumn, ct, store).ConfigureAwait(false);
    }
}
