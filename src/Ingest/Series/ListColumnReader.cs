using Parquet;
using Parquet.Data;
using Parquet.Schema;

namespace Contrastive.Ingest;

/// <summary>
/// One list column of a row group, flattened: every list (a channel) with its values as float, and the lists
/// of each row. Repetition levels mark rows (0) and, two lists deep, channels (1); definition levels below the
/// leaf's maximum mark empty or null lists. A null element inside a list is a problem of that row.
/// </summary>
internal sealed class ListColumn
{
    public float[] Values = [];
    public int[] ListStart = [], ListLength = [];
    public int[] RowFirstList = [], RowLists = [];
    public string?[] Problems = [];
    public int Rows;

    public static async Task<ListColumn> ReadAsync(ParquetRowGroupReader rg, DataField leaf, int rows, CancellationToken ct)
    {
        using var raw = await rg.ReadRawColumnDataBaseAsync(leaf, ct).ConfigureAwait(false);
        var col = new ListColumn { Rows = rows, RowFirstList = new int[rows], RowLists = new int[rows], Problems = new string?[rows] };
        float[] values = leaf.ClrType switch
        {
            var t when t == typeof(float) => ((RawColumnData<float>)raw).Values.ToArray(),
            var t when t == typeof(double) => Convert(((RawColumnData<double>)raw).Values),
            var t when t == typeof(short) => Convert(((RawColumnData<short>)raw).Values),
            var t when t == typeof(int) => Convert(((RawColumnData<int>)raw).Values),
            _ => throw new InvalidDataException($"values of type {leaf.ClrType.Name} are not supported"),
        };
        int maxDef = leaf.MaxDefinitionLevel, maxRep = leaf.MaxRepetitionLevel;
        var def = raw.DefinitionLevels;
        var rep = raw.RepetitionLevels;
        if (rep.Length != def.Length) throw new InvalidDataException($"{rep.Length} repetition levels but {def.Length} definition levels");
        int nullElement = leaf.IsNullable ? maxDef - 1 : -1;
        int defined = 0;
        foreach (int d in def) if (d == maxDef) defined++;
        // The defined values come packed at the front; Parquet.Net 6.1 sizes the span by level entries, so it can be longer.
        if (values.Length < defined) throw new InvalidDataException($"{values.Length} values for {defined} defined entries");
        var starts = new List<int>(rows * (maxRep > 1 ? 4 : 1));
        var lengths = new List<int>(starts.Capacity);
        int row = -1, used = 0;
        for (int k = 0; k < def.Length; k++)
        {
            int r = rep[k], d = def[k];
            if (r == 0)
            {
                if (++row >= rows) throw new InvalidDataException($"the column holds more than the row group's {rows} rows");
                col.RowFirstList[row] = starts.Count;
            }
            else if (row < 0)
            {
                throw new InvalidDataException("the first repetition level is not 0");
            }
            if (r < maxRep)
            {
                starts.Add(used);
                lengths.Add(0);
                col.RowLists[row]++;
            }
            if (d == maxDef)
            {
                used++;
                lengths[^1]++;
            }
            else if (d == nullElement)
            {
                col.Problems[row] ??= $"a null value in list {col.RowLists[row]} at position {lengths[^1]}";
            }
        }
        if (row != rows - 1) throw new InvalidDataException($"the column holds {row + 1} rows, the row group {rows}");
        col.Values = values;
        col.ListStart = [.. starts];
        col.ListLength = [.. lengths];
        return col;
    }

    private static float[] Convert<T>(Span<T> source) where T : System.Numerics.INumberBase<T>
    {
        var f = new float[source.Length];
        for (int i = 0; i < f.Length; i++) f[i] = float.CreateTruncating(source[i]);
        return f;
    }
}
