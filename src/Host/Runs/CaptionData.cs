using Contrastive.Ingest;

namespace Contrastive.Host;

/// <summary>The check a run that tokenizes captions makes before it starts: the data must have them.</summary>
internal static class CaptionData
{
    /// <summary>
    /// Throws a <see cref="UsageException"/> when <paramref name="dataset"/> has no captions, naming the data, what it
    /// holds (a Parquet shard's columns) and where captions are looked for. <paramref name="why"/> is the option that asked
    /// for captions (e.g. "--captions"), <paramref name="textColumnOption"/> the caption column's ("--text-column").
    /// </summary>
    public static void Require(IImageDataset dataset, string why, string textColumnOption)
    {
        if (dataset.HasCaptions) return;
        string reads = string.Join(", ", dataset.Columns.Select(c => $"{c.Key} = {c.Value}"));
        string detail = dataset switch
        {
            ParquetImageDataset p when p.Shards.FirstOrDefault(s => !s.HasCaptions) is { } shard =>
                $"shard '{shard.Path}' has no caption column (looked for {string.Join(", ", CaptionText.ColumnNames)}); its columns are: {shard.AllColumns}. " +
                $"Name the caption column with {textColumnOption}.",
            { Format: "webdataset" } =>
                $"its tar shards have no key.{CaptionText.Extension} member beside each image ({textColumnOption} names a Parquet column only; it reads {reads}).",
            { Format: "imagefolder" } =>
                $"it has no .{CaptionText.Extension} file beside each image ({textColumnOption} names a Parquet column only; it reads {reads}).",
            _ => $"{dataset.Format} data carries no captions (it reads {reads}); captions come from a Parquet text column ({textColumnOption}), " +
                $"key.{CaptionText.Extension} members of tar shards or .{CaptionText.Extension} files beside the images of a folder.",
        };
        throw new UsageException($"{why}: '{dataset.Uri}' ({dataset.Format}) has no captions to tokenize: {detail}");
    }
}
