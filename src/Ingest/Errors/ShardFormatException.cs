namespace Contrastive.Ingest;

/// <summary>
/// A shard cannot be read as the expected format: unreadable, truncated, or missing a needed column.
/// The message names the file and, where it applies, the column.
/// </summary>
public sealed class ShardFormatException : Exception
{
    public ShardFormatException(string shard, string? column, string message, Exception? inner = null)
        : base(message, inner)
    {
        Shard = shard;
        Column = column;
    }

    public string Shard { get; }

    public string? Column { get; }
}
