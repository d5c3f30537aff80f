namespace Contrastive.Ingest;

/// <summary>
/// A data location a user gave cannot be used: it does not exist, matches no shard, or names an unsupported
/// scheme. The message says which location and what to do.
/// </summary>
public sealed class DataSourceException : Exception
{
    public DataSourceException(string uri, string message, Exception? inner = null)
        : base(message, inner)
    {
        Uri = uri;
    }

    /// <summary>The location as the user wrote it.</summary>
    public string Uri { get; }
}
