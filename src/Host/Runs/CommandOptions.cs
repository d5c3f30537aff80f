using System.ComponentModel.DataAnnotations;

namespace Contrastive.Host;

/// <summary>`contrastive eval`: what to score. Configuration section "Eval" (how: section "Evaluation").</summary>
internal sealed class EvalCommandOptions : IValidatableObject
{
    /// <summary>A checkpoint file written by train (or give <see cref="Weights"/>).</summary>
    public string? Checkpoint { get; set; }

    /// <summary>
    /// Instead of a checkpoint: a safetensors file of an image encoder's weights (torchvision's ResNet names, or contrastive
    /// export's), scored with the same kNN, probe and baselines.
    /// </summary>
    public string? Weights { get; set; }

    /// <summary>With <see cref="Weights"/>: the encoder, convnet, resnet18, resnet34 or resnet50; unset: the file's metadata says.</summary>
    [RegularExpression("^(?i)(convnet|resnet18|resnet34|resnet50)$", ErrorMessage = "must be convnet, resnet18, resnet34 or resnet50")]
    public string? Encoder { get; set; }

    /// <summary>With <see cref="Weights"/>: the side of the evaluation view in pixels; unset: the file's metadata, else 224 (torchvision's).</summary>
    [Range(8, 4096)]
    public int? ImageSize { get; set; }

    /// <summary>Labelled data whose features form the kNN bank and train the probe (optional with <see cref="ZeroShot"/>).</summary>
    public string? TrainData { get; set; }

    /// <summary>Labelled data to classify.</summary>
    [Required(ErrorMessage = "is required: labelled data to classify")]
    public string? TestData { get; set; }

    /// <summary>Also score the architecture at random init (the checkpoint's seed) and raw pixels. Default false.</summary>
    public bool Baselines { get; set; }

    /// <summary>Zero-shot classification of the test data with an image-text checkpoint (clip): class names in prompt templates. Default false.</summary>
    public bool ZeroShot { get; set; }

    /// <summary>Zero-shot: the class names, comma-separated, in label order (label k is the k-th name).</summary>
    public string? Classes { get; set; }

    /// <summary>Zero-shot: a file with one class name per line, in label order (blank lines and lines starting with # are skipped).</summary>
    public string? ClassesFile { get; set; }

    /// <summary>Zero-shot: prompt templates separated by |, each with {} for the class name; several are ensembled. Default: CLIP's "a photo of a {}." and two like it.</summary>
    public string Templates { get; set; } = DefaultTemplates;

    /// <summary>The default prompt templates.</summary>
    public const string DefaultTemplates = "a photo of a {}.|a picture of a {}.|an image of a {}.";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrWhiteSpace(Checkpoint) == string.IsNullOrWhiteSpace(Weights))
            yield return new ValidationResult("or --weights: give exactly one of them (a checkpoint file written by train, or a safetensors file of an image encoder)", [nameof(Checkpoint)]);
        if (string.IsNullOrWhiteSpace(Weights) && (Encoder is not null || ImageSize is not null))
            yield return new ValidationResult("--encoder and --image-size describe --weights; a checkpoint says its own", [nameof(Encoder)]);
        if (!string.IsNullOrWhiteSpace(Weights) && ZeroShot)
            yield return new ValidationResult("--zero-shot needs a CLIP checkpoint's text tower: give --checkpoint", [nameof(ZeroShot)]);
        if (!ZeroShot && string.IsNullOrWhiteSpace(TrainData))
            yield return new ValidationResult("is required: labelled data for the kNN bank and the probe (or --zero-shot with --classes)", [nameof(TrainData)]);
        if (ZeroShot && string.IsNullOrWhiteSpace(Classes) == string.IsNullOrWhiteSpace(ClassesFile))
            yield return new ValidationResult("--zero-shot needs the class names: give exactly one of --classes \"name,name,…\" and --classes-file FILE", [nameof(Classes)]);
        if (!ZeroShot && (!string.IsNullOrWhiteSpace(Classes) || !string.IsNullOrWhiteSpace(ClassesFile)))
            yield return new ValidationResult("class names are for zero-shot classification: add --zero-shot", [nameof(Classes)]);
    }
}
