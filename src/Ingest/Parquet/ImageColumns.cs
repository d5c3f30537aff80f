using Parquet.Schema;

namespace Contrastive.Ingest;

/// <summary>
/// The leaf columns of an image shard that the reader uses, found by name: the Hugging Face `datasets`
/// layout (`image` = struct {bytes, path}, `label`, `text`/`caption`) and the img2dataset layout (`jpg`/`png`/`webp`, `key`, `txt`).
/// </summary>
internal sealed record ImageColumns(DataField Image, DataField? Label, DataField? Key, string ImageName, string? LabelName)
{
    /// <summary>The caption column (UTF-8 text or binary), when the shard has one.</summary>
    public DataField? Text { get; init; }

    public string? TextName { get; init; }

    /// <summary>Every top-level column of the shard with its type, e.g. "image (a struct), label (Int64)": for messages.</summary>
    public string AllColumns { get; init; } = "";

    internal static readonly string[] ImageNames = ["image", "img", "jpg", "jpeg", "png", "webp", "image_bytes"];
    internal static readonly string[] LabelNames = ["label", "labels", "cls", "class", "target"];
    internal static readonly string[] KeyNames = ["key", "__key__", "path", "filename"];

    public static ImageColumns Find(ParquetSchema schema, string shard, string? imageColumn, string? labelColumn, string? textColumn = null)
    {
        DataField? image = null;
        DataField? key = null;
        string? imageName = null;
        foreach (var name in imageColumn is null ? ImageNames : [imageColumn])
        {
            var field = Top(schema, name);
            if (field is StructField s)
            {
                image = s.Fields.OfType<DataField>().FirstOrDefault(f => f.Name == "bytes" && IsBinary(f));
                key = s.Fields.OfType<DataField>().FirstOrDefault(f => f.Name == "path" && IsText(f));
            }
            else if (field is DataField d && IsBinary(d) && !d.IsArray)
            {
                image = d;
            }
            if (image is not null) { imageName = name; break; }
            if (imageColumn is not null)
            {
                string what = field is null ? "is not in it" : $"is {Describe(field)}, not binary image bytes or a struct with a 'bytes' field";
                throw new ShardFormatException(shard, imageColumn,
                    $"Shard '{shard}': image column '{imageColumn}' {what}. Its columns are: {ListColumns(schema)}.");
            }
        }
        if (image is null || imageName is null)
        {
            throw new ShardFormatException(shard, null,
                $"Shard '{shard}' has no image column: looked for {string.Join(", ", ImageNames)} (binary, or a struct with a 'bytes' field). " +
                $"Its columns are: {ListColumns(schema)}. Name the column with --image-column (configuration Data:ImageColumn).");
        }

        DataField? label = null;
        string? labelName = null;
        foreach (var name in labelColumn is null ? LabelNames : [labelColumn])
        {
            var field = Top(schema, name);
            if (field is DataField d && !d.IsArray && (d.ClrType == typeof(long) || d.ClrType == typeof(int)))
            {
                label = d;
                labelName = name;
                break;
            }
            if (labelColumn is not null)
            {
                string what = field is null ? "is not in it" : $"is {Describe(field)}, not an integer";
                throw new ShardFormatException(shard, labelColumn, $"Shard '{shard}': label column '{labelColumn}' {what}. Its columns are: {ListColumns(schema)}.");
            }
        }

        if (key is null)
        {
            foreach (var name in KeyNames)
            {
                if (Top(schema, name) is DataField d && IsText(d) && !d.IsArray) { key = d; break; }
            }
        }
        DataField? text = null;
        string? textName = null;
        foreach (var name in textColumn is null ? CaptionText.ColumnNames : [textColumn])
        {
            var field = Top(schema, name);
            if (field is DataField d && !d.IsArray && (IsText(d) || IsBinary(d)) && d != image)
            {
                text = d;
                textName = name;
                break;
            }
            if (textColumn is not null)
            {
                string what = field is null ? "is not in it" : $"is {Describe(field)}, not text";
                throw new ShardFormatException(shard, textColumn,
                    $"Shard '{shard}': text column '{textColumn}' {what}. Its columns are: {ListColumns(schema)}. (--text-column, configuration Data:TextColumn)");
            }
        }
        return new ImageColumns(image, label, key, imageName, labelName) { Text = text, TextName = textName, AllColumns = ListColumns(schema) };
    }

    // Parquet.Net 6 reports binary and string leaves as ReadOnlyMemory<byte> / ReadOnlyMemory<char> by default.
    private static bool IsBinary(DataField f) => f.ClrType == typeof(byte[]) || f.ClrType == typeof(ReadOnlyMemory<byte>);

    private static bool IsText(DataField f) => f.ClrType == typeof(string) || f.ClrType == typeof(ReadOnlyMemory<char>);

    private static Field? Top(ParquetSchema schema, string name)
    {
        foreach (var f in schema.Fields)
            if (f.Name == name) return f;
        return null;
    }

    private static string Describe(Field f) => f switch
    {
        DataField d when IsBinary(d) => d.IsArray ? "binary[]" : "binary",
        DataField d when IsText(d) => d.IsArray ? "string[]" : "string",
        DataField d => $"{d.ClrType.Name}{(d.IsArray ? "[]" : "")}",
        StructField => "a struct",
        _ => f.SchemaType.ToString().ToLowerInvariant(),
    };

    private static string ListColumns(ParquetSchema schema) =>
        schema.Fields.Count == 0 ? "(none)" : string.Join(", ", schema.Fields.Select(f => $"{f.Name} ({Describe(f)})"));
}
