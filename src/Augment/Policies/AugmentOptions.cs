using System.ComponentModel.DataAnnotations;

namespace Contrastive.Augment;

/// <summary>
/// SimCLR's augmentation (Chen et al. 2020, appendix A): random resized crop, flip, colour jitter with
/// strength s, random grayscale, Gaussian blur. Defaults suit small (32 px, CIFAR-like) images: jitter strength
/// s = 0.5 as in the paper's CIFAR-10 setting, and crops of at least 20% of the area (at 32 px an 8% crop rarely
/// shows the object). For ImageNet-sized data use the ImageNet setting: Size 224, ScaleMin 0.08, JitterStrength 1.
/// Configuration section "Augment".
/// </summary>
public sealed class AugmentOptions
{
    /// <summary>Output side in pixels. Default 32 (the demo data, CIFAR-like); 224 for ImageNet-sized images.</summary>
    [Range(8, 1024)]
    public int Size { get; set; } = 32;

    /// <summary>Area fraction range of the random crop. Default 0.2 to 1 (ImageNet: 0.08 to 1).</summary>
    [Range(0.01, 1.0)]
    public double ScaleMin { get; set; } = 0.2;

    [Range(0.01, 1.0)]
    public double ScaleMax { get; set; } = 1.0;

    /// <summary>Aspect ratio range of the random crop. Default 3/4 to 4/3.</summary>
    [Range(0.1, 10.0)]
    public double RatioMin { get; set; } = 3.0 / 4.0;

    [Range(0.1, 10.0)]
    public double RatioMax { get; set; } = 4.0 / 3.0;

    /// <summary>Horizontal flip probability. Default 0.5.</summary>
    [Range(0.0, 1.0)]
    public double FlipProbability { get; set; } = 0.5;

    /// <summary>Colour jitter strength s: brightness, contrast, saturation 0.8·s, hue 0.2·s. Default 0.5 (CIFAR; ImageNet: 1).</summary>
    [Range(0.0, 2.5)]
    public double JitterStrength { get; set; } = 0.5;

    /// <summary>Probability that colour jitter is applied. Default 0.8.</summary>
    [Range(0.0, 1.0)]
    public double JitterProbability { get; set; } = 0.8;

    /// <summary>Probability of converting to grayscale. Default 0.2.</summary>
    [Range(0.0, 1.0)]
    public double GrayscaleProbability { get; set; } = 0.2;

    /// <summary>Probability of Gaussian blur (kernel 10% of the size, σ in 0.1–2.0). Default 0.5.</summary>
    [Range(0.0, 1.0)]
    public double BlurProbability { get; set; } = 0.5;

    [Range(0.01, 10.0)]
    public double BlurSigmaMin { get; set; } = 0.1;

    [Range(0.01, 10.0)]
    public double BlurSigmaMax { get; set; } = 2.0;

    /// <summary>
    /// BYOL's asymmetric pair (Grill et al. 2020): view 0 always blurred, view 1 blurred with p 0.1 and solarized with p 0.2
    /// (<see cref="BlurProbability"/> then only says whether to blur: 0 turns the pair's blur off, as lightly's CIFAR-10
    /// recipe for BYOL; DINO's multi-crop follows the same rule). Default false: both views alike, as SimCLR and MoCo v2 (whose
    /// augmentation is this one at the default jitter strength 0.5: brightness, contrast, saturation 0.4, hue 0.1).
    /// </summary>
    public bool Asymmetric { get; set; }

    /// <summary>
    /// Decode less (default true): where the decoder can reduce in the DCT domain (TurboJPEG: 1/2, 1/4, 1/8), decode at
    /// the smallest such size at which every view's crop is still at least the view's size, since the resize would
    /// reduce them that much anyway. The crops are drawn on the stored size either way; false decodes in full.
    /// </summary>
    public bool DecodeScaling { get; set; } = true;

    /// <summary>A copy to change without touching these options (a method's own views: BYOL's asymmetric pair).</summary>
    public AugmentOptions Copy() => (AugmentOptions)MemberwiseClone();
}
