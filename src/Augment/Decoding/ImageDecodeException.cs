namespace Contrastive.Augment;

/// <summary>An image's bytes could not be decoded (corrupt, truncated, unsupported, too large). The pipeline counts and skips it.</summary>
public sealed class ImageDecodeException(string message) : SampleFormatException(message);
