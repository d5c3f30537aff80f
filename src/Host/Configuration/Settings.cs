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
internal static class Settings
{
    /// <summary>The options class of each configuration section (the methods' own sections come from the registry).</summary>
    internal static readonly IReadOnlyDictionary<string, Type> Sections = new Dictionary<string, Type>(StringComparer.OrdinalIgnoreCase)
    {
        ["Data"] = typeof(DataOptions), ["Training"] = typeof(TrainingOptions), ["Batching"] = typeof(BatchingOptions),
        ["Augment"] = typeof(AugmentOptions), ["MultiCrop"] = typeof(MultiCropOptions), ["Series"] = typeof(SeriesWindowOptions),
        ["Decoder"] = typeof(DecoderOptions), ["ObjectStore"] = typeof(ObjectStoreOptions), ["Evaluation"] = typeof(EvaluationOptions),
        ["Eval"] = typeof(EvalCommandOptions), ["Embed"] = typeof(EmbedCommandOptions), ["Export"] = typeof(ExportCommandOptions), ["Bench"] = typeof(BenchOptions), ["Pack"] = typeof(PackOptions), ["Demo"] = typeof(DemoOptions),
        ["Profile"] = typeof(ProfileOptions), ["Report"] = typeof(ReportCommandOptions), ["Serve"] = typeof(Serve.ServeOptions),
    };

    public const string EnvironmentPrefix = "CONTRASTIVE_";

    /// <summary>The older variables for Decoder:Name and Decoder:MaxPixels, still read where the section does not say.</summary>
    public const string DecoderVariable = "CONTRASTIVE_DECODER", MaxPixelsVariable = "CONTRASTIVE_MAX_PIXELS";

    /// <summary>
    /// torchrun's RANK / WORLD_SIZE as Data:Rank / Data:WorldSize, then appsettings.json beside the binary, then in the
    /// working directory, then CONTRASTIVE_ variables, then the command line: each later source overrides the earlier.
    /// </summary>
    public static void AddSources(IConfigurationBuilder builder, IDictionary<string, string?> overrides)
    {
        builder.AddInMemoryCollection(HostEnvironment.DataShareDefaults());
        builder.AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true);
        builder.AddJsonFile(Path.Combine(Environment.CurrentDirectory, "appsettings.json"), optional: true);
        builder.AddEnvironmentVariables(EnvironmentPrefix);
        builder.AddInMemoryCollection(overrides);
    }

    /// <summary>
    /// A configuration from every source, with <paramref name="given"/> (key → the option that set it) and
    /// <paramref name="declared"/> (key → the command's option for it) for messages, and the values of repeated options
    /// (<paramref name="lists"/>, key → values).
    /// </summary>
    public static CommandConfiguration Build(IDictionary<string, string?> overrides, IReadOnlyDictionary<string, string>? given = null,
        IReadOnlyDictionary<string, string>? declared = null, IReadOnlyDictionary<string, IReadOnlyList<string>>? lists = null)
    {
        var builder = new ConfigurationBuilder();
        AddSources(builder, overrides);
        return new CommandConfiguration(builder.Build(), given ?? new Dictionary<string, string>(), declared) { Repeated = lists ?? new Dictionary<string, IReadOnlyList<string>>() };
    }

    /// <summary>The options class of <paramref name="section"/> (a method's: its registration's); null when no class binds it.</summary>
    internal static Type? SectionType(string section) =>
        Sections.GetValueOrDefault(section) ?? MethodRegistry.All.FirstOrDefault(m => m.Section.Equals(section, StringComparison.OrdinalIgnoreCase))?.OptionsType;

    /// <summary>The options class property <paramref name="key"/> ("Section:Property") binds to; null when unknown.</summary>
    private static PropertyInfo? PropertyOf(string key)
    {
        int colon = key.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0) return null;
        string section = key[..colon], name = key[(colon + 1)..];
        // A nested section ("Serve:Limits:MaxBatchSize") walks the properties' types.
        PropertyInfo? property = null;
        for (var type = SectionType(section); type is not null && name.Length > 0;)
        {
            int next = name.IndexOf(':', StringComparison.Ordinal);
            property = type.GetProperty(next < 0 ? name : name[..next], BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
            if (next < 0 || property is null) break;
            (type, name) = (property.PropertyType, name[(next + 1)..]);
        }
        return property;
    }

    /// <summary>The command-line type of the option setting <paramref name="key"/>: bool for flags, else the property's type, nullable (unset unless given).</summary>
    /// <exception cref="ArgumentException">No options class has that key (a declaration's mistake).</exception>
    internal static Type OptionType(string key)
    {
        var type = PropertyOf(key)?.PropertyType ?? throw new ArgumentException($"No options class binds '{key}'.", nameof(key));
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type == typeof(bool) || !type.IsValueType ? type : typeof(Nullable<>).MakeGenericType(type);
    }

    /// <summary>The default of <paramref name="key"/> ("Section:Property") as help shows it, from its options class; null when unknown.</summary>
    internal static string? DefaultText(string key)
    {
        var property = PropertyOf(key);
        if (property is null) return null;
        object? value = property.GetValue(Activator.CreateInstance(property.ReflectedType!));
        return value switch
        {
            null => "unset",
            string s when s.Length == 0 => "unset",
            bool b => b ? "true" : "false",
            System.Collections.IEnumerable list and not string => string.Join(", ", list.Cast<object>()) is { Length: > 0 } items ? items : "none",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString(),
        };
    }
}
