using System.CommandLine;
using System.Globalization;

namespace Contrastive.Host;

/// <summary>
/// A command's options declared once, each with the configuration key it sets; help shows the default from the options
/// class. An option given on the command line overrides every other source.
/// </summary>
internal sealed class CommandLineOptions(Command command)
{
    private readonly List<(Option Option, string Key)> _bound = [];

    /// <summary>Each of <paramref name="specs"/>, typed by its key's property (a bool is a flag that may take true or false).</summary>
    public void Add(IEnumerable<OptionSpec> specs)
    {
        foreach (var spec in specs)
        {
            string? value = spec.DefaultNote ?? Settings.DefaultText(spec.Key);
            string help = value is null or "unset" ? spec.Description : $"{spec.Description} Default: {value}.";
            var type = spec.Many ? typeof(string[]) : Settings.OptionType(spec.Key);
            var option = (Option)Activator.CreateInstance(typeof(Option<>).MakeGenericType(type), spec.Name, Array.Empty<string>())!;
            option.Description = $"{help} [{spec.Key}]";
            command.Options.Add(option);
            _bound.Add((option, spec.Key));
        }
    }

    /// <summary>--json: the result as one JSON object.</summary>
    public Option<bool> Json(string description)
    {
        var json = new Option<bool>("--json") { Description = description };
        command.Options.Add(json);
        return json;
    }

    /// <summary>The configuration of this invocation: every source, with the options given on the command line on top.</summary>
    public CommandConfiguration Configure(ParseResult parse, IDictionary<string, string?>? extra = null)
    {
        var overrides = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var flags = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var declared = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var lists = new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase);
        foreach (var (option, key) in _bound)
        {
            declared[key] = option.Name;
            if (parse.GetResult(option) is not { Implicit: false } result) continue;
            object? value = result.GetValueOrDefault<object?>();
            if (value is string[] values)
            {
                // A repeated option: the first value stands for the key (messages), the options class takes them all.
                lists[key] = values;
                value = values.Length == 1 ? values[0] : "";
            }
            overrides[key] = value switch
            {
                bool b => b ? "true" : "false",
                IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                _ => value?.ToString(),
            };
            flags[key] = option.Name;
        }
        if (extra is not null)
            foreach (var (k, v) in extra) overrides[k] = v;
        return Settings.Build(overrides, flags, declared, lists);
    }
}
