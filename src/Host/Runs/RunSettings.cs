using Contrastive.Batching;
using Contrastive.Training;
using Microsoft.Extensions.Configuration;

namespace Contrastive.Host;

/// <summary>Everything a training run is configured by, bound from one configuration (appsettings, CONTRASTIVE_ variables, the command line).</summary>
public sealed record RunSettings(DataOptions Data, TrainingOptions Training, BatchingOptions Batching, SimClrViewOptions Augment, MultiCropViewOptions MultiCrop,
    SeriesWindowOptions Series, MethodRegistration Method, object MethodOptions)
{
    /// <summary>Binds and validates every section, the method's own included; an error names the setting.</summary>
    public static RunSettings Bind(IConfiguration config)
    {
        var training = Settings.Bind<TrainingOptions>(config, "Training");
        var method = MethodRegistry.Get(training.Method);
        return new RunSettings(Settings.Bind<DataOptions>(config, "Data"), training, Settings.Bind<BatchingOptions>(config, "Batching"),
            Settings.Bind<SimClrViewOptions>(config, "Augment"), Settings.Bind<MultiCropViewOptions>(config, "MultiCrop"),
            Settings.Bind<SeriesWindowOptions>(config, "Series"), method, Settings.Bind(config, method));
    }
}
