namespace Contrastive.Ingest;

/// <summary>The pooled column reader does not handle this column's layout; the caller falls back to Parquet.Net.</summary>
internal sealed class UnsupportedColumnException(string message) : Exception(message);
