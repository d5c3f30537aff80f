using System.Globalization;
using Contrastive.Ingest;
using Contrastive.Training;

namespace Contrastive.Host;

/// <summary>
/// Defaults that follow the data, for the settings the user left alone (any setting given on the command line, in a
/// CONTRASTIVE_ variable or in appsettings.json wins). Small images (longer side at most 64 px) are trained at their
/// own size rather than upsampled, evaluated whole rather than centre-cropped, with crops of at least
/// <see cref="SmallScaleMin"/> of the image, and without blur (SimCLR's and lightly's recipe for CIFAR-sized data);
/// grayscale data skips the random grayscale conversion (a no-op on it) and gets colour jitter of strength
/// <see cref="GrayJitterStrength"/>. Photo-sized colour images keep the defaults as they are.
/// </summary>
internal static class DataDefaults
{
    /// <summary>
    /// The smallest crop (share of the image's area) of a small image's views. The photo default, 0.2, leaves a 28-px
    /// image's crop 12 px across before it is scaled back up; 0.4 learned faster on Fashion-MNIST in minutes (kNN top-1 of
    /// a 3-minute SimCLR run 0.8430 against 0.8369; docs/benchmarks.md, SimCLR defaults).
    /// </summary>
    public const double SmallScaleMin = 0.4;

    /// <summary>
    /// Colour jitter strength on grayscale images. Saturation and hue leave gray pixels gray, so of SimCLR's four jitters
    /// only brightness and contrast act; s = 1 (the paper's ImageNet strength, brightness and contrast ±0.8) in place of
    /// CIFAR's 0.5 made up for it on Fashion-MNIST (kNN top-1 of a 3-minute SimCLR run 0.8694 against 0.8555; 0.25 gave
    /// 0.8367; docs/benchmarks.md, SimCLR defaults).
    /// </summary>
    public const double GrayJitterStrength = 1.0;

    /// <summary>
    /// The run's settings with the defaults that follow <paramref name="shape"/> applied to copies of its Augment and
    /// Evaluation sections, validated again: the settings given (bound and validated once) are never changed.
    /// </summary>
    /// <exception cref="UsageException">A chosen default breaks a rule of its section (named as Section:Key).</exception>
    public static (TrainSettings Settings, IReadOnlyList<string> Chosen) Apply(TrainSettings settings, ImageShape shape)
    {
        var (augment, evaluation) = (OptionsCopy.Of(settings.Augment), OptionsCopy.Of(settings.Evaluation));
        var chosen = ForTraining(shape, augment, evaluation, settings.IsGiven);
        OptionsCopy.Validate(augment, "Augment");
        OptionsCopy.Validate(evaluation, "Evaluation");
        return (settings with { Augment = augment, Evaluation = evaluation }, chosen);
    }

    /// <summary>The evaluation view's defaults for <paramref name="shape"/> on a copy of <paramref name="evaluation"/> (see <see cref="Apply"/>).</summary>
    public static (EvaluationOptions Evaluation, IReadOnlyList<string> Chosen) ApplyEvaluation(ImageShape shape, EvaluationOptions evaluation, Func<string, bool> given)
    {
        var copy = OptionsCopy.Of(evaluation);
        var chosen = ForEvaluation(shape, copy, given);
        OptionsCopy.Validate(copy, "Evaluation");
        return (copy, chosen);
    }

    /// <summary>Adjusts <paramref name="augment"/> and <paramref name="evaluation"/> for <paramref name="shape"/>; returns what was chosen and why, one entry each.</summary>
    /// <param name="given">Whether the user set a configuration key ("Augment:Size").</param>
    public static IReadOnlyList<string> ForTraining(ImageShape shape, AugmentOptions augment, EvaluationOptions evaluation, Func<string, bool> given)
    {
        var chosen = new List<string>();
        if (shape.Small)
        {
            int side = Math.Clamp(Math.Max(shape.Width, shape.Height), 8, ImageShape.SmallSide);
            if (!given("Augment:Size") && augment.Size != side)
            {
                augment.Size = side;
                chosen.Add($"Augment:Size {side} (the images' own size: not upsampled)");
            }
            if (!given("Augment:ScaleMin") && augment.ScaleMin < SmallScaleMin)
            {
                augment.ScaleMin = SmallScaleMin;
                chosen.Add(string.Create(CultureInfo.InvariantCulture,
                    $"Augment:ScaleMin {SmallScaleMin} (crops of at least {SmallScaleMin * 100:0}% of a small image's area: smaller ones keep too few of its pixels to match; measured on Fashion-MNIST, docs/benchmarks.md)"));
            }
            if (!given("Augment:BlurProbability") && augment.BlurProbability != 0)
            {
                augment.BlurProbability = 0;
                chosen.Add("Augment:BlurProbability 0 (no blur on small images, as SimCLR's CIFAR recipe; BYOL's and DINO's views too, as lightly's)");
            }
        }
        if (shape.Grayscale && !given("Augment:GrayscaleProbability") && augment.GrayscaleProbability != 0)
        {
            augment.GrayscaleProbability = 0;
            chosen.Add("Augment:GrayscaleProbability 0 (the images are grayscale already)");
        }
        if (shape.Grayscale && !given("Augment:JitterStrength") && augment.JitterStrength < GrayJitterStrength)
        {
            augment.JitterStrength = GrayJitterStrength;
            chosen.Add(string.Create(CultureInfo.InvariantCulture,
                $"Augment:JitterStrength {GrayJitterStrength} (only brightness and contrast change gray pixels, so they get the full strength; measured on Fashion-MNIST, docs/benchmarks.md)"));
        }
        chosen.AddRange(ForEvaluation(shape, evaluation, given));
        return chosen;
    }

    /// <summary>The evaluation view: small images are taken whole (no centre crop that would cut their border).</summary>
    public static IReadOnlyList<string> ForEvaluation(ImageShape shape, EvaluationOptions evaluation, Func<string, bool> given)
    {
        if (!shape.Small || given("Evaluation:CropFraction") || evaluation.CropFraction == 1) return [];
        evaluation.CropFraction = 1;
        return ["Evaluation:CropFraction 1 (small images are evaluated whole)"];
    }

    /// <summary>The log line for what <see cref="ForTraining"/> or <see cref="ForEvaluation"/> chose.</summary>
    public static string Describe(ImageShape shape, IReadOnlyList<string> chosen) => chosen.Count == 0
        ? $"Defaults for {shape}: none changed ({(shape.Small ? "the settings that follow small images were given explicitly" : "photo-sized images keep the defaults")})"
        : $"Defaults for {shape}: {string.Join("; ", chosen)}. Any of them given explicitly wins.";
}
