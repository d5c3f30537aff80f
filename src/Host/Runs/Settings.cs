using System.CommandLine;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using Contrastive.Batching;
using Contrastive.Ingest;
using Contrastive.Training;
using Microsoft.Extensions.Configuration;

namespace Contrastive.Host;

/// <summary>
/// The one configuration path every command takes: appsettings.json beside the binary, then in the working directory,
/// then CONTRASTIVE_ environment variables (section and key joined by <c>__</c>), then the command line; each options
/// class is bound from its section and validated, and an error names the setting the way the user gave it.
/// </summary>
public static class Settings
{
    /// <summary>The options class of each configuration section (the methods' own sections come from the registry).</summary>
    internal static readonly IReadOnlyDictionary<string, Type> Sections = new Dictionary<string, Type>(StringComparer.OrdinalIgnoreCase)
    {
        ["Data"] = typeof(DataOptions), ["Training"] = typeof(TrainingOptions), ["Batching"] = typeof(BatchingOptions),
        ["Augment"] = typeof(SimClrViewOptions), ["MultiCrop"] = typeof(MultiCropViewOptions), ["Series"] = typeof(SeriesWindowOptions),
        ["Decoder"] = typeof(DecoderOptions), ["ObjectStore"] = typeof(ObjectStoreOptions), ["Evaluation"] = typeof(EvaluationOptions),
        ["Eval"] = typeof(EvalCommandOptions), ["Embed"] = typeof(EmbedCommandOptions), ["Bench"] = typeof(BenchOptions), ["Pack"] = typeof(PackOptions), ["Demo"] = typeof(DemoOptions),
        ["Profile"] = typeof(ProfileOptions), ["Report"] = typeof(ReportCommandOptions), ["Serve"] = typeof(Serve.ServeOptions),
    };

    public const string EnvironmentPrefix = "CONTRASTIVE_";

    /// <summary>appsettings.json beside the binary, then in the working directory, then CONTRASTIVE_ variables, then the command line.</summary>
    public static void AddSources(IConfigurationBuilder builder, IDictionary<string, string?> overrides)
    {
        builder.AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true);
        builder.AddJsonFile(Path.Combine(Environment.CurrentDirectory, "appsettings.json"), optional: true);
        builder.AddEnvironmentVariables(EnvironmentPrefix);
        builder.AddInMemoryCollection(overrides);
    }

    /// <summary>
    /// A configuration from every source, with <paramref name="given"/> (key → the option that set it) and
    /// <paramref name="declared"/> (key → the command's option for it) for messages.
    /// </summary>
    public static CommandConfiguration Build(IDictionary<string, string?> overrides, IReadOnlyDictionary<string, string>? given = null,
        IReadOnlyDictionary<string, string>? declared = null)
    {
        var builder = new ConfigurationBuilder();
        AddSources(builder, overrides);
        return new CommandConfiguration(builder.Build(), given ?? new Dictionary<string, string>(), declared);
    }

    /// <summary>The default of <paramref name="key"/> ("Section:Property") as help shows it, from its options class; null when unknown.</summary>
    internal static string? DefaultText(string key)
    {
        int colon = key.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0) return null;
        string section = key[..colon], name = key[(colon + 1)..];
        var type = Sections.GetValueOrDefault(section) ?? MethodRegistry.All.FirstOrDefault(m => m.Section.Equals(section, StringComparison.OrdinalIgnoreCase))?.OptionsType;
        var property = type?.GetProperty(name, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
        if (property is null) return null;
        object? value = property.GetValue(Activator.CreateInstance(type!));
        return value switch
        {
            null => "unset",
            string s when s.Length == 0 => "unset",
            bool b => b ? "true" : "false",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString(),
        };
    }
}

/// <summary>A command's bound configuration: binds sections with validation; errors name the setting as the user gave it.</summary>
public sealed class CommandConfiguration(IConfiguration configuration, IReadOnlyDictionary<string, string> flags, IReadOnlyDictionary<string, string>? declared = null)
{
    public IConfiguration Configuration { get; } = configuration;

    /// <summary>Binds and validates section <paramref name="section"/>.</summary>
    /// <exception cref="UsageException">A value that does not convert or validate; the message names the option, variable or key.</exception>
    public T Bind<T>(string section) where T : new() => (T)Bind(section, new T()!);

    /// <summary>Binds and validates a method's own options (its registration's section and class).</summary>
    public object Bind(MethodRegistration method) => Bind(method.Section, method.NewOptions());

    private object Bind(string section, object value)
    {
        try
        {
            Configuration.GetSection(section).Bind(value);
        }
        catch (InvalidOperationException e)
        {
            // "Failed to convert configuration value '…' at 'Section:Key' to type '…'."
            string message = e.InnerException?.Message ?? e.Message;
            string? key = ExtractKey(e.Message);
            throw new UsageException(key is null ? $"configuration {section}: {message}" : $"{NameOf(key)}: '{Configuration[key]}' is not a valid {TypeName(value, key)}", e);
        }
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(value, new ValidationContext(value), results, validateAllProperties: true))
            throw new UsageException(string.Join("; ", results.Select(r => Describe(section, r))));
        return value;
    }

    /// <summary>How the user gave <paramref name="key"/>: the command-line option, the environment variable, or the configuration key.</summary>
    public string NameOf(string key)
    {
        foreach (var (k, flag) in flags)
            if (string.Equals(k, key, StringComparison.OrdinalIgnoreCase)) return flag;
        string variable = Settings.EnvironmentPrefix + key.Replace(":", "__", StringComparison.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
            if (string.Equals((string)entry.Key, variable, StringComparison.OrdinalIgnoreCase)) return (string)entry.Key;
        if (Configuration[key] is not null) return $"{key} (appsettings.json)";
        if (declared is not null)
            foreach (var (k, flag) in declared)
                if (string.Equals(k, key, StringComparison.OrdinalIgnoreCase)) return flag;
        return key;
    }

    private string Describe(string section, ValidationResult r)
    {
        string member = r.MemberNames.FirstOrDefault() ?? "";
        string key = member.Length > 0 ? $"{section}:{member}" : section;
        string message = r.ErrorMessage ?? "is not valid";
        // DataAnnotations' own messages start "The field X …" / "The X field …": keep what follows.
        foreach (var prefix in new[] { $"The field {member} ", $"The {member} field " })
            if (message.StartsWith(prefix, StringComparison.Ordinal)) message = message[prefix.Length..];
        message = message.TrimEnd('.');
        string given = Configuration[key] is { } v ? $" (given: {v})" : "";
        string name = NameOf(key);
        return name == key ? $"{key} {message}{given}" : $"{name} {message}{given} [{key}]";
    }

    private static string? ExtractKey(string message)
    {
        int at = message.IndexOf(" at '", StringComparison.Ordinal);
        if (at < 0) return null;
        int end = message.IndexOf('\'', at + 5);
        return end > at ? message[(at + 5)..end] : null;
    }

    private static string TypeName(object options, string key)
    {
        string name = key[(key.LastIndexOf(':') + 1)..];
        var type = options.GetType().GetProperty(name, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase)?.PropertyType;
        type = type is null ? null : Nullable.GetUnderlyingType(type) ?? type;
        return type switch
        {
            null => "value",
            _ when type == typeof(int) || type == typeof(long) => "whole number",
            _ when type == typeof(double) => "number",
            _ when type == typeof(bool) => "true or false",
            _ when type == typeof(TimeSpan) => "duration (hh:mm:ss)",
            _ => type.Name,
        };
    }
}

/// <summary>
/// A command's options declared once, each with the configuration key it sets; help shows the default from the options
/// class. An option given on the command line overrides every other source.
/// </summary>
internal sealed class BoundOptions(Command command)
{
    private readonly List<(Option Option, string Key)> _bound = [];

    /// <summary>An option that sets <paramref name="key"/>.</summary>
    public Option<T> Add<T>(string name, string key, string description, string? defaultNote = null)
    {
        string? value = defaultNote ?? Settings.DefaultText(key);
        string help = value is null or "unset" ? description : $"{description} Default: {value}.";
        var option = new Option<T>(name) { Description = $"{help} [{key}]" };
        command.Options.Add(option);
        _bound.Add((option, key));
        return option;
    }

    /// <summary>The options declared, each with the configuration key it sets.</summary>
    public IEnumerable<(string Name, string Key)> Declared => _bound.Select(b => (b.Option.Name, b.Key));

    /// <summary>A flag (no value) that sets <paramref name="key"/> to true.</summary>
    public Option<bool> Flag(string name, string key, string description) => Add<bool>(name, key, description);

    /// <summary>The configuration of this invocation: every source, with the options given on the command line on top.</summary>
    public CommandConfiguration Configure(ParseResult parse, IDictionary<string, string?>? extra = null)
    {
        var overrides = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var flags = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var declared = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (option, key) in _bound)
        {
            declared[key] = option.Name;
            if (parse.GetResult(option) is not { Implicit: false } result) continue;
            object? value = result.GetValueOrDefault<object?>();
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
        return Settings.Build(overrides, flags, declared);
    }
}
