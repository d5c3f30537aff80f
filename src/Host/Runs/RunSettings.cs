using Contrastive.Batching;
using Contrastive.Ingest;
using Contrastive.Training;
using Microsoft.Extensions.Configuration;

namespace Contrastive.Host;

/// <summary>Everything a training run is configured by, bound from one configuration (appsettings, CONTRASTIVE_ variables, the command line).</summary>
public sealed record RunSettings(DataOptions Data, TrainingOptions Training, BatchingOptions Batching, SimClrViewOptions Augment, MultiCropViewOptions MultiCrop,
    SeriesWindowOptions Series, DecoderOptions Decoder, EvaluationOptions Evaluation, MethodRegistration Method, object MethodOptions)
{
    /// <summary>The configuration keys ("Augment:Size") the user set, from any source: data-driven defaults leave them alone.</summary>
    public IReadOnlySet<string> Given { get; init; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Whether the user set <paramref name="key"/>.</summary>
    public bool IsGiven(string key) => Given.Contains(key);

    /// <summary>The keys set under <paramref name="sections"/> of a configuration.</summary>
    public static HashSet<string> GivenKeys(IConfiguration configuration, params string[] sections) =>
        sections.SelectMany(s => configuration.GetSection(s).GetChildren().Where(c => c.Value is not null).Select(c => $"{s}:{c.Key}"))
            .ToHashSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>The run's trace and report (section "Profile").</summary>
    public ProfileOptions Profile { get; init; } = new();

    /// <summary>Binds and validates every section, the method's own included; an error names the setting as the user gave it.</summary>
    public static RunSettings Bind(CommandConfiguration config)
    {
        var training = config.Bind<TrainingOptions>("Training");
        var method = MethodRegistry.Get(training.Method);
        var settings = new RunSettings(config.Bind<DataOptions>("Data"), training, config.Bind<BatchingOptions>("Batching"),
            config.Bind<SimClrViewOptions>("Augment"), config.Bind<MultiCropViewOptions>("MultiCrop"), config.Bind<SeriesWindowOptions>("Series"),
            BindDecoder(config), config.Bind<EvaluationOptions>("Evaluation"), method, config.Bind(method))
        {
            Profile = config.Bind<ProfileOptions>("Profile"),
            Given = GivenKeys(config.Configuration, "Augment", "Evaluation", "MultiCrop"),
        };
        ObjectStore.Options = config.Bind<ObjectStoreOptions>("ObjectStore");
        return settings;
    }

    /// <summary>
    /// The "Decoder" section; where it does not say, the older variables CONTRASTIVE_DECODER and CONTRASTIVE_MAX_PIXELS
    /// (configuration keys "DECODER" and "MAX_PIXELS" under the CONTRASTIVE_ prefix).
    /// </summary>
    public static DecoderOptions BindDecoder(CommandConfiguration config)
    {
        var c = config.Configuration;
        var legacy = new Dictionary<string, string?>();
        if (c["Decoder:Name"] is null && c[ImageDecoders.EnvironmentVariable[Settings.EnvironmentPrefix.Length..]] is { } name) legacy["Decoder:Name"] = name;
        if (c["Decoder:MaxPixels"] is null && c[ImageDecoders.MaxPixelsVariable[Settings.EnvironmentPrefix.Length..]] is { } pixels)
            legacy["Decoder:MaxPixels"] = pixels.Replace("_", "", StringComparison.Ordinal);
        if (legacy.Count == 0) return config.Bind<DecoderOptions>("Decoder");
        var merged = new ConfigurationBuilder().AddConfiguration(c).AddInMemoryCollection(legacy).Build();
        return new CommandConfiguration(merged, new Dictionary<string, string>
        {
            ["Decoder:Name"] = ImageDecoders.EnvironmentVariable, ["Decoder:MaxPixels"] = ImageDecoders.MaxPixelsVariable,
        }).Bind<DecoderOptions>("Decoder");
    }
}
