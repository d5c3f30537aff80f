namespace Contrastive.Host;

/// <summary>A usage or configuration error (exit code 2); the message names the option.</summary>
internal sealed class UsageException(string message, Exception? inner = null) : Exception(message, inner);
