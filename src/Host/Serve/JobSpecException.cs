namespace Contrastive.Host.Serve;

/// <summary>A job spec that cannot run; <see cref="Setting"/> names the spec field at fault (null: the spec as a whole).</summary>
internal sealed class JobSpecException(string? setting, string message) : Exception(message)
{
    public string? Setting { get; } = setting;
}
