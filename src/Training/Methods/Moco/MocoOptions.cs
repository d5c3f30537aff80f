using System.ComponentModel.DataAnnotations;

namespace Contrastive.Training;

/// <summary>MoCo v2 (He et al. 2020; Chen et al. 2020). Configuration section "Moco".</summary>
public sealed class MocoOptions : IOptimizerRecipes
{
    /// <summary>Keys kept in the queue of negatives. Default 4096 (the paper: 65536 for ImageNet).</summary>
    [Range(1, 10_000_000)]
    public int Queue { get; set; } = 4096;

    /// <summary>Momentum of the key network. Default 0.99 (the paper: 0.999 over 200 epochs; short runs want a faster key).</summary>
    [Range(0.0, 0.999999)]
    public double Momentum { get; set; } = 0.99;

    /// <summary>InfoNCE temperature. Default 0.2 (MoCo v2).</summary>
    [Range(1e-4, 100.0)]
    public double Temperature { get; set; } = 0.2;

    /// <summary>Projection head output size. Default 128 (MoCo v2).</summary>
    [Range(2, 65536)]
    public int ProjectionDim { get; set; } = 128;

    /// <summary>MoCo v2's optimizer: SGD at 0.03 for a batch of 256, weight decay 1e-4. Other optimizers: the shared defaults.</summary>
    public OptimizerRecipe? RecipeFor(string optimizer) => optimizer == "sgd" ? new(0.03, 1e-4, "MoCo v2's SGD recipe") : null;
}
