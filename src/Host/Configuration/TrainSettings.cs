using Contrastive.Batching;
using Contrastive.Ingest;
using Contrastive.Training;

namespace Contrastive.Host;

/// <summary>Everything a training run is configured by, bound from one configuration (appsettings, CONTRASTIVE_ variables, the command line).</summary>
internal sealed record TrainSettings(DataOptions Data, TrainingOptions Training, BatchingOptions Batching, AugmentOptions Augment, MultiCropOptions MultiCrop,
    SeriesWindowOptions Series, DecoderOptions Decoder, EvaluationOptions Evaluation, MethodRegistration Method, object MethodOptions)
{
    /// <summary>The configuration keys ("Augment:Size") the user set, from any source: data-driven defaults leave them alone.</summary>
    public IReadOnlySet<string> Given { get; init; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Whether the user set <paramref name="key"/>.</summary>
    public bool IsGiven(string key) => Given.Contains(key);

    /// <summary>The run's trace and report (section "Profile").</summary>
    public ProfileOptions Profile { get; init; } = new();

    /// <summary>Object storage: requests, retries, uploads (section "ObjectStore").</summary>
    public ObjectStoreOptions ObjectStore { get; init; } = new();

    /// <summary>
    /// The options a training run takes, declared once: `train` on the command line and the service's job specs (snake
    /// case: "max_steps" for --max-steps) are both made from this list, the registered methods' own flags included.
    /// </summary>
    internal static IEnumerable<OptionSpec> Options =>
    [
        OptionGroups.Data(required: false, weighted: true),
        new("--method", "Training:Method", $"Method: {MethodRegistry.Names} ('contrastive methods' describes them)."),
        new("--encoder", "Training:Encoder", "Encoder: convnet, resnet18, resnet34 or resnet50."),
        new("--stem", "Training:Stem", "ResNet stem: auto (small below 96 px, else ImageNet's), imagenet or small."),
        new("--convnet-pool", "Training:ConvNetPool", "convnet: pool the last feature map to an N×N grid of features (1 = global average pooling)."),
        new("--out", "Training:Out", "Folder for checkpoints and metrics."),
        new("--max-steps", "Training:MaxSteps", "Stop after N steps (0 = no step limit)."),
        new("--max-minutes", "Training:MaxMinutes", "Stop after M minutes (0 = no time limit)."),
        new("--until-step", "Training:UntilStep", "Checkpoint and stop at step K, keeping the whole run's schedule; continue with --resume (0 = none)."),
        .. OptionGroups.Batches("Samples per batch (each with all its views)."),
        .. OptionGroups.Runtime("Decode + augment workers."),
        new("--checkpoint-every", "Training:CheckpointEvery", "Checkpoint every N steps (0 = only at the end)."),
        new("--eval-every", "Evaluation:Every", "Online evaluation: kNN top-1 on held-out images every N steps (0 = off; image methods)."),
        new("--zero-shot-classes", "Evaluation:OnlineClasses", "Online evaluation of clip: class names, comma-separated, in label order, for zero-shot top-1 as well."),
        new("--resume", "Training:Resume", "Continue from the newest intact checkpoint in --out."),
        new("--init-from", "Training:InitFrom", "Start from the weights of a safetensors file (torchvision's ResNet names, or contrastive export's) instead of the seed's initialisation."),
        new("--seed", "Training:Seed", "Run seed: initialisation and every augmentation draw."),
        new("--threads", "Training:Threads", "Torch CPU threads (0 = all cores)."),
        new("--grad-cache-chunk", "Training:GradCacheChunk", "Gradient caching: encode each batch in chunks of N images (0 = off; simclr and supcon)."),
        new("--sync-batchnorm", "Training:SyncBatchNorm", "Data-parallel runs (mpirun): BatchNorm statistics over the global batch instead of each rank's."),
        .. OptionGroups.MethodFlags(),
        new("--precision", "Training:Precision", "auto (bf16 on CUDA, and on a CPU with native bf16 for ResNets; else fp32), fp32 or bf16: what encoder and heads compute in."),
        .. OptionGroups.Columns,
        new("--window", "Series:Length", "Series methods: window length in samples."),
        OptionGroups.SeriesColumns,
        OptionGroups.Decoder,
        OptionGroups.ShuffleBuffer,
        OptionGroups.Cache,
    ];

    /// <summary>Binds and validates every section, the method's own included; an error names the setting as the user gave it.</summary>
    public static TrainSettings Bind(CommandConfiguration config)
    {
        var training = config.Bind<TrainingOptions>("Training");
        var method = MethodRegistry.Get(training.Method);
        var data = config.Bind<DataOptions>("Data");
        return new TrainSettings(data, training, config.Bind<BatchingOptions>("Batching"),
            config.Bind<AugmentOptions>("Augment"), config.Bind<MultiCropOptions>("MultiCrop"), config.Bind<SeriesWindowOptions>("Series"),
            config.BindDecoder(), config.Bind<EvaluationOptions>("Evaluation"), method, config.Bind(method))
        {
            Profile = config.Bind<ProfileOptions>("Profile"),
            ObjectStore = config.Bind<ObjectStoreOptions>("ObjectStore").WithCache(data.Cache()),
            Given = config.GivenKeys("Augment", "Evaluation", "MultiCrop"),
        };
    }
}
