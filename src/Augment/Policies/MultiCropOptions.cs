using System.ComponentModel.DataAnnotations;

namespace Contrastive.Augment;

/// <summary>
/// DINO's multi-crop (Caron et al. 2021): two global views of <see cref="AugmentOptions.Size"/> covering
/// <see cref="GlobalScaleMin"/>–1 of the image and <see cref="LocalViews"/> local views of <see cref="LocalSize"/> covering
/// <see cref="LocalScaleMin"/>–<see cref="LocalScaleMax"/>; the colour augmentation of <see cref="AugmentOptions"/> with
/// BYOL's asymmetric blur and solarization (global view 1 always blurred, global view 2 blurred with p 0.1 and solarized with
/// p 0.2, local views blurred with p 0.5; no blur at all when Augment:BlurProbability is 0, as on small images). Configuration
/// section "MultiCrop" (colours from "Augment").
/// </summary>
public sealed class MultiCropOptions
{
    /// <summary>Local views per sample. Default 6 (the paper uses 6 to 10; each costs a forward and backward pass).</summary>
    [Range(0, 16)]
    public int LocalViews { get; set; } = 6;

    /// <summary>Side of the local views; 0 (default): 3/7 of the global size, the paper's 96 for 224.</summary>
    [Range(0, 1024)]
    public int LocalSize { get; set; }

    /// <summary>
    /// Smallest area fraction of a global crop. Default 0.4 (the DINO code's default, tuned with ViTs and multi-crop, and
    /// lightly's for CIFAR-10; the authors' ResNet-50 recipe uses 0.14 with local crops of 0.05–0.14).
    /// </summary>
    [Range(0.01, 1.0)]
    public double GlobalScaleMin { get; set; } = 0.4;

    /// <summary>Area fraction range of a local crop. Default 0.05 to 0.4.</summary>
    [Range(0.01, 1.0)]
    public double LocalScaleMin { get; set; } = 0.05;

    [Range(0.01, 1.0)]
    public double LocalScaleMax { get; set; } = 0.4;

    /// <summary>The local side in effect for global size <paramref name="size"/>.</summary>
    public int LocalSizeFor(int size) => LocalSize > 0 ? LocalSize : Math.Max(8, (int)Math.Round(size * 3.0 / 7.0));
}
