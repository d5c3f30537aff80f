using Parquet.Schema;

namespace Contrastive.Ingest;

/// <summary>
/// The columns of a time-series shard: one list column per channel (list&lt;float&gt;), or one column of channels
/// (list&lt;list&lt;float&gt;&gt;); float, double, int16 or int32 values; an optional integer label.
/// </summary>
internal sealed record SeriesColumns(IReadOnlyList<DataField> Leaves, IReadOnlyList<string> Names, bool Nested, DataField? Label, string? LabelName)
{
    internal static readonly string[] SeriesNames = ["series", "values", "signal", "sequence", "x", "data", "audio"];
    internal static readonly Type[] ValueTypes = [typeof(float), typeof(double), typeof(short), typeof(int)];

    /// <summary>
    /// Finds the series columns: the named ones (<paramref name="seriesColumns"/>), else the first of the usual names,
    /// else every numeric list column (one channel each), else the one list-of-lists column.
    /// </summary>
    public static SeriesColumns Find(ParquetSchema schema, string shard, IReadOnlyList<string>? seriesColumns, string? labelColumn)
    {
        var leaves = new List<DataField>();
        var names = new List<string>();
        bool nested = false;
        void Take(Field f, string name)
        {
            var (leaf, depth) = Leaf(f);
            if (leaf is null || depth == 0)
                throw new ShardFormatException(shard, name, $"Shard '{shard}': series column '{name}' is {Describe(f)}, not a list of numbers " +
                    $"(list<float>, or list<list<float>> for several channels). Its columns are: {ListColumns(schema)}.");
            if (depth > 2 || (depth == 2 && (seriesColumns?.Count > 1 || leaves.Count > 0)))
                throw new ShardFormatException(shard, name, $"Shard '{shard}': series column '{name}' is nested {depth} deep; use list<float> columns " +
                    "(one per channel) or a single list<list<float>> column.");
            nested |= depth == 2;
            leaves.Add(leaf);
            names.Add(name);
        }

        if (seriesColumns is { Count: > 0 })
        {
            foreach (var name in seriesColumns)
            {
                var f = Top(schema, name) ?? throw new ShardFormatException(shard, name,
                    $"Shard '{shard}': series column '{name}' is not in it. Its columns are: {ListColumns(schema)}.");
                Take(f, name);
            }
        }
        else
        {
            var named = SeriesNames.Select(n => Top(schema, n)).FirstOrDefault(f => f is not null && Leaf(f).Depth > 0);
            if (named is not null) Take(named, named.Name);
            else
            {
                foreach (var f in schema.Fields)
                    if (Leaf(f) is { Leaf: not null, Depth: 1 }) Take(f, f.Name);
                var channelLists = schema.Fields.Where(f => Leaf(f) is { Leaf: not null, Depth: 2 }).ToList();
                if (leaves.Count == 0 && channelLists.Count == 1) Take(channelLists[0], channelLists[0].Name); // one list<list<…>> column
            }
            if (leaves.Count == 0)
                throw new ShardFormatException(shard, null, $"Shard '{shard}' has no series column: looked for {string.Join(", ", SeriesNames)} " +
                    $"or any list<float> column. Its columns are: {ListColumns(schema)}. Name the columns with --series-columns.");
        }

        DataField? label = null;
        string? labelName = null;
        foreach (var name in labelColumn is null ? ImageColumns.LabelNames : [labelColumn])
        {
            var field = Top(schema, name);
            if (field is DataField d && !d.IsArray && (d.ClrType == typeof(long) || d.ClrType == typeof(int))) { label = d; labelName = name; break; }
            if (labelColumn is not null)
                throw new ShardFormatException(shard, labelColumn, $"Shard '{shard}': label column '{labelColumn}' " +
                    $"{(field is null ? "is not in it" : $"is {Describe(field)}, not an integer")}. Its columns are: {ListColumns(schema)}.");
        }
        return new SeriesColumns(leaves, names, nested, label, labelName);
    }

    /// <summary>The numeric leaf under list nesting, and how many lists deep it is (0: not a list of numbers).</summary>
    private static (DataField? Leaf, int Depth) Leaf(Field f)
    {
        int depth = 0;
        while (f is ListField l) { depth++; f = l.Item; }
        if (f is DataField d && ValueTypes.Contains(d.ClrType))
        {
            if (d.IsArray) depth++; // a legacy repeated primitive
            return depth > 0 ? (d, depth) : (null, 0);
        }
        return (null, 0);
    }

    private static Field? Top(ParquetSchema schema, string name) => schema.Fields.FirstOrDefault(f => f.Name == name);

    private static string Describe(Field f) => f switch
    {
        ListField l => $"list<{Describe(l.Item)}>",
        DataField d => $"{d.ClrType.Name}{(d.IsArray ? "[]" : "")}",
        StructField => "a struct",
        _ => f.SchemaType.ToString().ToLowerInvariant(),
    };

    internal static string ListColumns(ParquetSchema schema) =>
        schema.Fields.Count == 0 ? "(none)" : string.Join(", ", schema.Fields.Select(f => $"{f.Name} ({Describe(f)})"));
}
