using System.ComponentModel.DataAnnotations;
using System.Reflection;
using Contrastive.Training;
using Microsoft.Extensions.Configuration;

namespace Contrastive.Host;

/// <summary>A command's bound configuration: binds sections with validation; errors name the setting as the user gave it.</summary>
internal sealed class CommandConfiguration(IConfiguration configuration, IReadOnlyDictionary<string, string> flags, IReadOnlyDictionary<string, string>? declared = null)
{
    public IConfiguration Configuration { get; } = configuration;

    /// <summary>The values of repeated command-line options by key (--data's under Data:Uri), in the order given.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Repeated { get; init; } = new Dictionary<string, IReadOnlyList<string>>();

    /// <summary>Binds and validates section <paramref name="section"/>.</summary>
    /// <exception cref="UsageException">A value that does not convert or validate; the message names the option, variable or key.</exception>
    public T Bind<T>(string section) where T : new() => (T)Bind(section, new T()!);

    /// <summary>The keys set under <paramref name="sections"/>, from any source.</summary>
    public HashSet<string> GivenKeys(params string[] sections) =>
        sections.SelectMany(s => Configuration.GetSection(s).GetChildren().Where(c => c.Value is not null).Select(c => $"{s}:{c.Key}"))
            .ToHashSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The "Decoder" section; where it does not say, the older variables CONTRASTIVE_DECODER and CONTRASTIVE_MAX_PIXELS
    /// (configuration keys "DECODER" and "MAX_PIXELS" under the CONTRASTIVE_ prefix).
    /// </summary>
    public DecoderOptions BindDecoder()
    {
        var c = Configuration;
        var legacy = new Dictionary<string, string?>();
        if (c["Decoder:Name"] is null && c[Settings.DecoderVariable[Settings.EnvironmentPrefix.Length..]] is { } name) legacy["Decoder:Name"] = name;
        if (c["Decoder:MaxPixels"] is null && c[Settings.MaxPixelsVariable[Settings.EnvironmentPrefix.Length..]] is { } pixels)
            legacy["Decoder:MaxPixels"] = pixels.Replace("_", "", StringComparison.Ordinal);
        if (legacy.Count == 0) return Bind<DecoderOptions>("Decoder");
        var merged = new ConfigurationBuilder().AddConfiguration(c).AddInMemoryCollection(legacy).Build();
        return new CommandConfiguration(merged, new Dictionary<string, string>
        {
            ["Decoder:Name"] = Settings.DecoderVariable, ["Decoder:MaxPixels"] = Settings.MaxPixelsVariable,
        }).Bind<DecoderOptions>("Decoder");
    }

    /// <summary>The configured decoders, one per worker (an error names Decoder:Name or the variable that set it).</summary>
    public Func<IImageDecoder> Decoders()
    {
        try { return BindDecoder().Factory(); }
        catch (InvalidOperationException e) { throw new UsageException(e.Message, e); }
    }

    /// <summary>Binds and validates a method's own options (its registration's section and class).</summary>
    public object Bind(MethodRegistration method) => Bind(method.Section, method.NewOptions());

    /// <summary>Keys a release retired, with what took their place: set, they are an error rather than silently ignored.</summary>
    private static readonly (string Key, string Instead)[] Retired =
    [
        ("Training:SmallImages", "Training:Stem (--stem auto|imagenet|small; auto takes the small-image stem for views under 96 px): SmallImages true is Stem small, false is Stem imagenet"),
    ];

    private object Bind(string section, object value)
    {
        foreach (var (key, instead) in Retired)
        {
            if (key.StartsWith(section + ":", StringComparison.OrdinalIgnoreCase) && Configuration[key] is not null)
                throw new UsageException($"{NameOf(key)} is no longer a setting: use {instead}.");
        }
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
        // Repeated --data: the locations given replace Data:Uri and Data:Sources from every other source.
        if (value is DataOptions data && Repeated.TryGetValue("Data:Uri", out var locations)) data.UseCommandLine(locations, NameOf("Data:Uri"));
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
        foreach (var (k, value) in HostEnvironment.DataShareDefaults())
            if (string.Equals(k, key, StringComparison.OrdinalIgnoreCase) && Configuration[key] == value) return k.EndsWith("Rank", StringComparison.Ordinal) ? "RANK" : "WORLD_SIZE";
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
