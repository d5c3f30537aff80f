namespace Contrastive.Host.Serve;

/// <summary>A job's processes could not be started (no launcher, a submission refused); the message says why.</summary>
internal sealed class JobLaunchException(string message, Exception? inner = null) : Exception(message, inner);
