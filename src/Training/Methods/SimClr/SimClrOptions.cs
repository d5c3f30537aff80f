using System.ComponentModel.DataAnnotations;

namespace Contrastive.Training;

/// <summary>SimCLR (Chen et al. 2020). Configuration section "SimClr".</summary>
public sealed class SimClrOptions : IOptimizerRecipes
{
    /// <summary>NT-Xent temperature. Default 0.5 (the paper's CIFAR-10 setting; 0.1 for ImageNet with large batches).</summary>
    [Range(1e-4, 100.0)]
    public double Temperature { get; set; } = 0.5;

    /// <summary>Projection head output size. Default 128 (the paper).</summary>
    [Range(2, 65536)]
    public int ProjectionDim { get; set; } = 128;

    /// <summary>The paper's optimizer: LARS at 0.3 × batch / 256 with weight decay 1e-6 (Chen et al. 2020). Other optimizers: the shared defaults.</summary>
    public OptimizerRecipe? RecipeFor(string optimizer) => optimizer == "lars" ? new(0.3, 1e-6, "SimCLR's LARS recipe") : null;
}
