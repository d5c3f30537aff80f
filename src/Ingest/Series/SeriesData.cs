namespace Contrastive.Ingest;

/// <summary>Opens series data for the CPC path, whatever the source: time-series Parquet, a folder of WAV files, or tar shards of WAV members.</summary>
public static class SeriesData
{
    /// <summary>
    /// Parquet files (file, directory, glob or s3:// prefix) → <see cref="ParquetSeriesDataset"/> (samples are float32
    /// values); a folder of .wav files (root/&lt;class&gt;/… or flat) or .tar shards with .wav members → samples are WAV
    /// bytes that the series workers decode. Returns the dataset and its channel count (for WAV, the first file's).
    /// </summary>
    /// <exception cref="DataSourceException">Nothing readable at the location.</exception>
    /// <param name="store">Object storage's requests and retries (null: the defaults).</param>
    public static async Task<(IImageDataset Dataset, int Channels)> OpenAsync(string uri, IReadOnlyList<string>? seriesColumns, string? labelColumn, CancellationToken ct,
        ObjectStoreOptions? store = null)
    {
        string local = uri.StartsWith("file://", StringComparison.OrdinalIgnoreCase) ? uri[7..] : uri;
        bool tar = WebDataset.IsShard(local) || (!ObjectStore.IsS3(uri) && Directory.Exists(local) && !ShardSource.HasFiles(local, ".parquet")
            && WebDataset.ShardExtensions.Any(e => ShardSource.HasFiles(local, e)));
        IImageDataset dataset;
        if (tar) dataset = await WebDataset.OpenAsync(uri, ct: ct, store: store).ConfigureAwait(false);
        else if (!ObjectStore.IsS3(uri) && Directory.Exists(local) && !ShardSource.HasFiles(local, ".parquet"))
        {
            if (!ImageFolderDataset.HasImages(local, ImageFolderDataset.AudioExtensions))
                throw new DataSourceException(uri, $"Data location '{uri}' has neither time-series Parquet shards nor .wav files.");
            dataset = ImageFolderDataset.OpenAudio(uri, local);
        }
        else
        {
            var series = await ParquetSeriesDataset.OpenAsync(uri, seriesColumns, labelColumn, ct, store).ConfigureAwait(false);
            return (series, series.Channels);
        }

        // WAV: the first readable file's header gives the channel count; every later file must match (checked per sample).
        await foreach (var chunk in dataset.ReadAsync(new ReadPlan(0, 0, Shuffle: false, HoldoutSplit.None), ct).ConfigureAwait(false))
        {
            using (chunk)
            {
                for (int i = 0; i < chunk.Count; i++)
                {
                    if (chunk.Images[i].IsEmpty) continue;
                    try { return (dataset, WavReader.Read(chunk.Images[i].Span, chunk.Describe(i)).Channels); }
                    catch (InvalidDataException) { }
                }
            }
        }
        throw new DataSourceException(uri, $"The audio at '{uri}' has no readable WAV file.");
    }
}
