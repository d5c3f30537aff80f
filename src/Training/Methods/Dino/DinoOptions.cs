using System.ComponentModel.DataAnnotations;

namespace Contrastive.Training;

/// <summary>DINO (Caron et al. 2021). Configuration section "Dino"; the multi-crop views are section "MultiCrop".</summary>
public sealed class DinoOptions : IOptimizerRecipes
{
    /// <summary>Prototypes K of the head's last layer. Default 4096 (the paper: 65536 for ImageNet).</summary>
    [Range(2, 1_000_000)]
    public int OutDim { get; set; } = 4096;

    /// <summary>The head's bottleneck width (before the prototypes). Default 256 (the paper).</summary>
    [Range(2, 100_000)]
    public int Bottleneck { get; set; } = 256;

    /// <summary>The head MLP's hidden width; 0 (default): 2048 for ResNets (the paper), 512 for the small ConvNet.</summary>
    [Range(0, 100_000)]
    public int Hidden { get; set; }

    /// <summary>The teacher's base EMA momentum, rising on a cosine to 1. Default 0.996 (the paper).</summary>
    [Range(0.0, 1.0)]
    public double TeacherMomentum { get; set; } = 0.996;

    /// <summary>Student temperature. Default 0.1 (the paper).</summary>
    [Range(1e-4, 100.0)]
    public double StudentTemperature { get; set; } = 0.1;

    /// <summary>Teacher temperature (sharpening). Default 0.04 (the paper).</summary>
    [Range(1e-4, 100.0)]
    public double TeacherTemperature { get; set; } = 0.04;

    /// <summary>Momentum of the teacher outputs' running centre. Default 0.9 (the paper).</summary>
    [Range(0.0, 1.0)]
    public double CenterMomentum { get; set; } = 0.9;

    /// <summary>Gradient-norm clipping when Training:ClipGradNorm is 0. Default 3 (the paper).</summary>
    [Range(0.0, 1e9)]
    public double ClipGradNorm { get; set; } = 3;

    /// <summary>The head width in effect for <paramref name="encoder"/>.</summary>
    public int HiddenFor(string encoder) => Hidden > 0 ? Hidden : encoder.StartsWith("resnet", StringComparison.Ordinal) ? 2048 : 512;

    /// <summary>
    /// DINO's recipe for ResNet-50 (the authors' README): SGD at 0.03 × batch / 256, weight decay 1e-4. Other optimizers:
    /// the shared defaults (the paper's AdamW recipe, 5e-4 × batch / 256 with decay rising from 0.04 to 0.4, is for ViTs).
    /// </summary>
    public OptimizerRecipe? RecipeFor(string optimizer) => optimizer == "sgd" ? new(0.03, 1e-4, "DINO's ResNet SGD recipe") : null;
}
