namespace Contrastive.Augment;

/// <summary>A sample's bytes cannot be used (undecodable, empty, malformed). The pipeline counts and skips the sample.</summary>
public class SampleFormatException(string message) : Exception(message);

/// <summary>An image's bytes could not be decoded (corrupt, truncated, unsupported, too large). The pipeline counts and skips it.</summary>
public sealed class ImageDecodeException(string message) : SampleFormatException(message);
