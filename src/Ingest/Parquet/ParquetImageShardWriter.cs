using Parquet;
using Parquet.Schema;

namespace Contrastive.Ingest;

/// <summary>
/// Writes image shards in the Hugging Face `datasets` schema: `image` = struct {bytes: binary, path: string},
/// `label` = int64, and `text` = string when any row has a caption (<see cref="ImageRow.Caption"/>). Each file is written to a temporary name and renamed, so a reader never sees half a shard.
/// </summary>
public static class ParquetImageShardWriter
{
    public static async Task WriteAsync(string path, IReadOnlyList<ImageRow> rows, int rowsPerRowGroup = 100, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rowsPerRowGroup, 1);
        var bytesField = new DataField<byte[]>("bytes");
        var pathField = new DataField<string>("path");
        var labelField = new DataField<long>("label");
        var textField = new DataField<string>("text");
        bool captions = rows.Any(r => r.Caption is not null);
        var schema = captions
            ? new ParquetSchema(new StructField("image", bytesField, pathField), labelField, textField)
            : new ParquetSchema(new StructField("image", bytesField, pathField), labelField);

        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        string tmp = path + ".tmp-" + Environment.ProcessId;
        await using (var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            var options = new ParquetOptions { CompressionMethod = CompressionMethod.Snappy };
            await using (var writer = await ParquetWriter.CreateAsync(schema, stream, options, cancellationToken: ct).ConfigureAwait(false))
            {
                for (int start = 0; start < rows.Count; start += rowsPerRowGroup)
                {
                    int n = Math.Min(rowsPerRowGroup, rows.Count - start);
                    var bytes = new byte[n][];
                    var paths = new string[n];
                    var labels = new long[n];
                    var texts = captions ? new string?[n] : null;
                    for (int i = 0; i < n; i++)
                    {
                        var row = rows[start + i];
                        bytes[i] = row.Bytes;
                        paths[i] = row.Path;
                        labels[i] = row.Label;
                        if (texts is not null) texts[i] = row.Caption;
                    }
                    using var rg = writer.CreateRowGroup();
                    await rg.WriteAsync(schema.DataFields[0], bytes, null).ConfigureAwait(false);
                    await rg.WriteAsync(schema.DataFields[1], paths, null).ConfigureAwait(false);
                    await rg.WriteAsync<long>(schema.DataFields[2], labels.AsMemory(), null, null, ct).ConfigureAwait(false);
                    if (texts is not null) await rg.WriteAsync(textField, texts, null).ConfigureAwait(false);
                }
            }
            await stream.FlushAsync(ct).ConfigureAwait(false);
            stream.Flush(flushToDisk: true);
        }
        File.Move(tmp, path, overwrite: true);
    }
}
