namespace Contrastive.Host;

/// <summary>
/// One option as data: the flag, the configuration key it sets ("Section:Property", whose property type is the option's),
/// its help text and, where the options class's default needs words, how help states the default. The command line and
/// the service's job specs are both made from these. <see cref="Many"/>: the option may be repeated (--data: weighted
/// sources); its values reach the options class through <see cref="CommandConfiguration.Repeated"/>.
/// </summary>
internal sealed record OptionSpec(string Name, string Key, string Description, string? DefaultNote = null)
{
    /// <summary>Whether the option may be given more than once (each value kept, in order).</summary>
    public bool Many { get; init; }
}
