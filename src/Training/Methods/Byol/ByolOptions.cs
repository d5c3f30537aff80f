using System.ComponentModel.DataAnnotations;

namespace Contrastive.Training;

/// <summary>BYOL (Grill et al. 2020). Configuration section "Byol".</summary>
public sealed class ByolOptions : IOptimizerRecipes
{
    /// <summary>The target network's base EMA rate τ, rising on a cosine to 1. Default 0.99 (the paper: 0.996 with its 1,000-epoch schedule; lightly's CIFAR-10 benchmark: 0.99).</summary>
    [Range(0.0, 1.0)]
    public double Tau { get; set; } = 0.99;

    /// <summary>Projection (and prediction) output size. Default 128 (the paper: 256, with 4096 hidden; sized down for CPU runs).</summary>
    [Range(2, 65536)]
    public int ProjectionDim { get; set; } = 128;

    /// <summary>
    /// BYOL's asymmetric augmentation: view 0 always blurred, view 1 blurred with p 0.1 and solarized with p 0.2. Default true
    /// (the paper); false uses the symmetric SimCLR pair.
    /// </summary>
    public bool AsymmetricViews { get; set; } = true;

    /// <summary>BYOL's optimizer: LARS at 0.2 × batch / 256, weight decay 1.5e-6 (Grill et al. 2020). Other optimizers: the shared defaults.</summary>
    public OptimizerRecipe? RecipeFor(string optimizer) => optimizer == "lars" ? new(0.2, 1.5e-6, "BYOL's LARS recipe") : null;
}
