namespace Contrastive.Host;

/// <summary>
/// One option as data: the flag, the configuration key it sets ("Section:Property", whose property type is the option's),
/// its help text and, where the options class's default needs words, how help states the default. The command line and
/// the service's job specs are both made from these.
/// </summary>
internal sealed record OptionSpec(string Name, string Key, string Description, string? DefaultNote = null);
