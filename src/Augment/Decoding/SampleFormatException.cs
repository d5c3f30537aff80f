namespace Contrastive.Augment;

/// <summary>A sample's bytes cannot be used (undecodable, empty, malformed). The pipeline counts and skips the sample.</summary>
public class SampleFormatException(string message) : Exception(message);
