namespace Contrastive.Training;

/// <summary>Distributed training cannot start as configured (no MPI library, a launcher mismatch); the message says what to do.</summary>
public sealed class DistributedSetupException(string message, Exception? inner = null) : Exception(message, inner);
