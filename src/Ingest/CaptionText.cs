using System.Text;

namespace Contrastive.Ingest;

/// <summary>Captions as they travel with their images: UTF-8 bytes, read from a text column, a tar member or a sidecar file.</summary>
public static class CaptionText
{
    /// <summary>Caption columns looked for in Parquet shards, in order: img2dataset's, then Hugging Face's.</summary>
    public static readonly string[] ColumnNames = ["txt", "text", "caption"];

    /// <summary>The extension of a caption beside its image: key.txt in a WebDataset tar, image-stem.txt in an image folder.</summary>
    public const string Extension = "txt";

    /// <summary>The most caption bytes read from a tar member or sidecar file; a longer one is refused as a bad sample.</summary>
    public const int MaxBytes = 1 << 20;

    /// <summary>True when the caption is empty or holds only white space and control characters (invalid UTF-8 counts as text).</summary>
    public static bool IsBlank(ReadOnlySpan<byte> utf8)
    {
        while (!utf8.IsEmpty)
        {
            var status = Rune.DecodeFromUtf8(utf8, out var rune, out int used);
            if (status != System.Buffers.OperationStatus.Done) return false;
            if (!Rune.IsWhiteSpace(rune) && !Rune.IsControl(rune)) return false;
            utf8 = utf8[used..];
        }
        return true;
    }

    /// <summary>Caption <paramref name="i"/> of a chunk as a string (for tools and tests; workers decode into their own buffers).</summary>
    public static string? Of(SampleChunk chunk, int i) => chunk.Captions is { } c ? Encoding.UTF8.GetString(c[i].Span) : null;
}
