using Parquet;
using Parquet.Schema;

namespace Contrastive.Ingest;

/// <summary>
/// Writes time-series shards: one list&lt;float&gt; column per channel ("series" for one channel, else "ch0", "ch1", …),
/// or with <c>nested</c> one list&lt;list&lt;float&gt;&gt; column "series"; "label" int64. Written to a temporary name and renamed.
/// </summary>
public static class ParquetSeriesShardWriter
{
    public static async Task WriteAsync(string path, IReadOnlyList<SeriesRow> rows, int rowsPerRowGroup = 100, bool nested = false, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rowsPerRowGroup, 1);
        if (rows.Count == 0) throw new ArgumentException("no rows to write", nameof(rows));
        int channels = rows[0].Channels.Length;
        if (rows.Any(r => r.Channels.Length != channels)) throw new ArgumentException("every row needs the same number of channels", nameof(rows));

        DataField[] leaves;
        Field[] fields;
        if (nested)
        {
            var leaf = new DataField<float>("element");
            leaves = [leaf];
            fields = [new ListField("series", new ListField("element", leaf))];
        }
        else
        {
            leaves = Enumerable.Range(0, channels).Select(_ => (DataField)new DataField<float>("element")).ToArray();
            fields = leaves.Select((l, c) => (Field)new ListField(channels == 1 ? "series" : $"ch{c}", l)).ToArray();
        }
        var label = new DataField<long>("label");
        var schema = new ParquetSchema([.. fields, label]);

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        string temp = path + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            await using (var file = File.Create(temp))
            {
                await using var writer = await ParquetWriter.CreateAsync(schema, file, cancellationToken: ct).ConfigureAwait(false);
                for (int start = 0; start < rows.Count; start += rowsPerRowGroup)
                {
                    var group = rows.Skip(start).Take(rowsPerRowGroup).ToList();
                    using var rg = writer.CreateRowGroup();
                    if (nested) await WriteListsAsync(rg, leaves[0], group.Select(r => r.Channels).ToList(), ct).ConfigureAwait(false);
                    else
                        for (int c = 0; c < channels; c++)
                            await WriteListsAsync(rg, leaves[c], group.Select(r => new[] { r.Channels[c] }).ToList(), ct).ConfigureAwait(false);
                    await rg.WriteAsync<long>(label, group.Select(r => r.Label).ToArray(), cancellationToken: ct).ConfigureAwait(false);
                }
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>Writes per row its lists (one for a list column, the channels for a nested one) with explicit levels.</summary>
    private static async Task WriteListsAsync(ParquetRowGroupWriter rg, DataField leaf, List<float[][]> rows, CancellationToken ct)
    {
        int maxDef = leaf.MaxDefinitionLevel, maxRep = leaf.MaxRepetitionLevel;
        var values = new List<float>();
        var def = new List<int>();
        var rep = new List<int>();
        foreach (var lists in rows)
        {
            for (int l = 0; l < lists.Length; l++)
            {
                int startRep = l == 0 ? 0 : maxRep - 1;
                if (lists[l].Length == 0)
                {
                    rep.Add(startRep);
                    def.Add(maxDef - 1); // an empty list
                    continue;
                }
                for (int j = 0; j < lists[l].Length; j++)
                {
                    rep.Add(j == 0 ? startRep : maxRep);
                    def.Add(maxDef);
                    values.Add(lists[l][j]);
                }
            }
        }
        await rg.WriteAllPartsAsync<float>(leaf, values.ToArray(), def.ToArray(), rep.ToArray(), ct).ConfigureAwait(false);
    }
}
