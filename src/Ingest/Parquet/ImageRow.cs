namespace Contrastive.Ingest;

/// <summary>One image row to write: encoded bytes, the stored path (key) and the label.</summary>
public readonly record struct ImageRow(byte[] Bytes, string Path, long Label);
