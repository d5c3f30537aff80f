using System.ComponentModel.DataAnnotations;

namespace Contrastive.Training;

/// <summary>How to train. Configuration section "Training"; the CLI's train options override it.</summary>
public sealed class TrainingOptions : IValidatableObject
{
    /// <summary>Method: a name in the <see cref="MethodRegistry"/> (`contrastive methods` lists them). Default "simclr".</summary>
    [Required]
    public string Method { get; set; } = "simclr";

    /// <summary>Encoder: "convnet" (small, default: minutes on a CPU), "resnet18", "resnet34" or "resnet50".</summary>
    [Required, RegularExpression("^(convnet|resnet18|resnet34|resnet50)$", ErrorMessage = "Encoder must be convnet, resnet18, resnet34 or resnet50.")]
    public string Encoder { get; set; } = "convnet";

    /// <summary>
    /// The ConvNet's last feature map is average-pooled to this many cells a side and flattened: 1 = global average
    /// pooling (256 features), 3 = a 3×3 grid (2,304 features; default). Checkpoints made before the setting existed are
    /// pool 1 and load as such.
    /// </summary>
    [Range(1, 8)]
    public int ConvNetPool { get; set; } = SmallConvNet.DefaultPool;

    /// <summary>
    /// ResNet stem: auto (default: the small-image stem, a 3×3 stride-1 convolution and no max-pool, for views under 96 px,
    /// as the SimCLR paper's CIFAR runs; torchvision's ImageNet stem, 7×7 stride 2 and a 3×3 max-pool, from 96 px up),
    /// imagenet or small. The small stem at 224 px costs about 16× the ImageNet stem's compute, and gives weights no
    /// torchvision ResNet can take.
    /// </summary>
    [Required, RegularExpression("^(?i)(auto|imagenet|small)$", ErrorMessage = "must be auto, imagenet or small")]
    public string Stem { get; set; } = "auto";

    /// <summary>Views narrower than this take the small-image stem under <see cref="Stem"/> auto.</summary>
    public const int SmallStemBelow = 96;

    /// <summary>Whether a ResNet trained on <paramref name="imageSize"/>-px views takes the small-image stem (<see cref="Stem"/>).</summary>
    public bool SmallStem(int imageSize) => Stem.Trim().ToLowerInvariant() switch
    {
        "small" => true,
        "imagenet" => false,
        _ => imageSize < SmallStemBelow,
    };

    /// <summary>Output folder for checkpoints and logs. Default "runs/simclr".</summary>
    [Required]
    public string Out { get; set; } = "runs/simclr";

    /// <summary>Stop after this many optimizer steps (0 = no step limit). Default 0.</summary>
    [Range(0, long.MaxValue)]
    public long MaxSteps { get; set; }

    /// <summary>
    /// Stop at this step as a stop signal would (checkpoint, exit 0, "interrupted"), keeping the schedule of the whole
    /// run: a long run split into jobs of a step budget each, continued with --resume. 0 = none. Default 0.
    /// </summary>
    [Range(0, long.MaxValue)]
    public long UntilStep { get; set; }

    /// <summary>
    /// Gradient caching: encode a batch's views in chunks of this many images and combine the chunks' gradients into the
    /// full batch's (a batch larger than memory allows for one pass). 0 = off. Default 0. With BatchNorm the statistics
    /// are per chunk.
    /// </summary>
    [Range(0, 1_000_000)]
    public int GradCacheChunk { get; set; }

    /// <summary>Clip the gradient's global norm to this before each step (0 = the method's default: none, DINO 3).</summary>
    [Range(0.0, 1e9)]
    public double ClipGradNorm { get; set; }

    /// <summary>Stop after this many minutes of training (0 = no time limit). Default 3.</summary>
    [Range(0.0, 1e7)]
    public double MaxMinutes { get; set; } = 3;

    /// <summary>"auto" (CUDA when available), "cpu" or "cuda". Default auto.</summary>
    [Required, RegularExpression("^(auto|cpu|cuda|cuda:[0-9]{1,3})$", ErrorMessage = "Device must be auto, cpu, cuda or cuda:N.")]
    public string Device { get; set; } = "auto";

    /// <summary>Write a checkpoint every this many steps (0 = only at the end). Default 200.</summary>
    [Range(0, long.MaxValue)]
    public long CheckpointEvery { get; set; } = 200;

    /// <summary>Checkpoints kept. Default 3.</summary>
    [Range(1, 1000)]
    public int KeepCheckpoints { get; set; } = 3;

    /// <summary>Continue from the newest intact checkpoint in <see cref="Out"/>.</summary>
    public bool Resume { get; set; }

    /// <summary>
    /// A safetensors file whose weights start the run instead of the seed's initialisation: torchvision's names for the
    /// ResNets (its fc is skipped), or the project's own export (contrastive export) for every encoder, with or without the
    /// projection head. A checkpoint to resume from takes precedence. Unset: none.
    /// </summary>
    public string? InitFrom { get; set; }

    /// <summary>Run seed: model init and every augmentation draw. Default 0.</summary>
    public long Seed { get; set; }

    /// <summary>"adamw" (default), "sgd" (momentum 0.9, Nesterov) or "lars" (momentum 0.9, trust coefficient 0.001; biases and norm parameters excluded, as SimCLR).</summary>
    [Required, RegularExpression("^(adamw|sgd|lars)$", ErrorMessage = "Optimizer must be adamw, sgd or lars.")]
    public string Optimizer { get; set; } = "adamw";

    /// <summary>
    /// Peak learning rate after warmup, before <see cref="LrBatchScaling"/>. Default: 0.001 for adamw; for sgd and lars the
    /// method's paper rate for that optimizer (<see cref="OptimizerRecipe"/>: SimCLR lars 0.3, MoCo v2 sgd 0.03, BYOL lars 0.2,
    /// SupCon sgd 0.125, DINO sgd 0.03, each × batch / 256), else 0.3 (SimCLR's base rate, scaled by batch / 256).
    /// </summary>
    [Range(1e-8, 100.0)]
    public double? LearningRate { get; set; }

    /// <summary>
    /// Multiply the learning rate by batch / 256 (the linear scaling rule: lr = base × batch / 256). Default: on for sgd and
    /// lars (or as the method's recipe says), off for adamw.
    /// </summary>
    public bool? LrBatchScaling { get; set; }

    /// <summary>The peak learning rate in effect for a batch of <paramref name="batchSize"/> samples, the method's <paramref name="recipe"/> filling what is not set.</summary>
    public double EffectiveLearningRate(int batchSize, OptimizerRecipe? recipe = null)
    {
        double lr = LearningRate ?? recipe?.LearningRate ?? (Optimizer == "adamw" ? 1e-3 : 0.3);
        return LrBatchScaling ?? recipe?.ScaleWithBatch ?? Optimizer != "adamw" ? lr * batchSize / 256.0 : lr;
    }

    /// <summary>
    /// Weight decay. Default: the method's paper value for its optimizer (<see cref="OptimizerRecipe"/>: SimCLR lars 1e-6,
    /// BYOL lars 1.5e-6, MoCo v2, SupCon and DINO sgd 1e-4), else 1e-4. With adamw the decay is decoupled (each step
    /// multiplies the weights by 1 − lr × decay).
    /// </summary>
    [Range(0.0, 1.0)]
    public double? WeightDecay { get; set; }

    /// <summary>The weight decay in effect, the method's <paramref name="recipe"/> filling it when not set.</summary>
    public double EffectiveWeightDecay(OptimizerRecipe? recipe = null) => WeightDecay ?? recipe?.WeightDecay ?? 1e-4;

    /// <summary>Fraction of training spent in linear warmup. Default 0.05.</summary>
    [Range(0.0, 1.0)]
    public double WarmupFraction { get; set; } = 0.05;

    /// <summary>
    /// Arithmetic precision of the encoder and heads: "auto" (default: bf16 on CUDA; on the CPU bf16 when it has native
    /// bf16, AVX512-BF16 or AMX-BF16, and the encoder is a ResNet, where it measured faster; fp32 otherwise:
    /// <see cref="PrecisionChoice.Decide"/>), "fp32", or "bf16" (convolutions and linear layers in bfloat16 by explicit
    /// casts, with fp32 master weights, optimizer state, normalisation statistics and losses; see <see cref="Autocast"/>).
    /// bf16 on a CPU without native bf16 is emulated and slower.
    /// </summary>
    [Required, RegularExpression("^(auto|fp32|bf16)$", ErrorMessage = "Precision must be auto, fp32 or bf16.")]
    public string Precision { get; set; } = "auto";

    /// <summary>On CUDA, let fp32 matrix multiplications and convolutions use TF32 tensor cores. Default true.</summary>
    public bool AllowTf32 { get; set; } = true;

    /// <summary>
    /// Data-parallel runs: BatchNorm normalises with the global batch's statistics (all-reduced in forward and backward,
    /// as SimCLR trained) instead of each rank's own. Costs two small all-reduces per BatchNorm layer and step. Default false.
    /// </summary>
    public bool SyncBatchNorm { get; set; }

    /// <summary>
    /// What the layers compute in on <paramref name="device"/> and why, for this machine's CPU (<see cref="CpuBf16.Detect"/>).
    /// <paramref name="imageEncoder"/> false: a model that computes in fp32 whatever the setting (CPC's, SimCSE's text transformer).
    /// </summary>
    public PrecisionChoice ChoosePrecision(TorchSharp.torch.Device device, bool imageEncoder = true) =>
        PrecisionChoice.Decide(Precision, device.type, imageEncoder ? Encoder : null, device.type == TorchSharp.DeviceType.CUDA ? CpuBf16Features.None : CpuBf16.Detect());

    /// <summary>The reduced type the layers compute in on <paramref name="device"/>, or null for fp32 throughout (<see cref="ChoosePrecision"/>).</summary>
    public TorchSharp.torch.ScalarType? ComputeType(TorchSharp.torch.Device device) => ChoosePrecision(device).Compute;

    /// <summary>Intra-op threads for torch on CPU (0 = all cores). Default 0.</summary>
    [Range(0, 1024)]
    public int Threads { get; set; }

    /// <summary>Fraction of labelled samples held out of training for the kNN test. Default 0.1.</summary>
    [Range(0.0, 0.9)]
    public double HoldoutFraction { get; set; } = 0.1;

    /// <summary>Seconds between progress lines. Default 10.</summary>
    [Range(0.1, 86400.0)]
    public double LogEverySeconds { get; set; } = 10;

    /// <summary>Rules across fields and the registry: the method must be registered.</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var method = MethodRegistry.Find(Method);
        if (method is null)
            yield return new ValidationResult($"Method '{Method}' is not registered: use one of {MethodRegistry.Names}.", [nameof(Method)]);
        else if (GradCacheChunk > 0 && !method.SupportsGradCache)
            yield return new ValidationResult(
                $"applies only to methods whose loss couples the batch's representations ({string.Join(", ", MethodRegistry.All.Where(m => m.SupportsGradCache).Select(m => m.Name))}); " +
                $"{method.Name} is not one of them: set it to 0, or lower the batch size to fit memory", [nameof(GradCacheChunk)]);
    }
}
