namespace Contrastive.Ingest;

/// <summary>One image row to write: encoded bytes, the stored path (key), the label and, optionally, a caption.</summary>
public readonly record struct ImageRow(byte[] Bytes, string Path, long Label, string? Caption = null);
