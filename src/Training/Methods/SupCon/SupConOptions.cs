using System.ComponentModel.DataAnnotations;

namespace Contrastive.Training;

/// <summary>Supervised contrastive learning (Khosla et al. 2020). Configuration section "SupCon".</summary>
public sealed class SupConOptions : IOptimizerRecipes
{
    /// <summary>Temperature. Default 0.1 (the paper).</summary>
    [Range(1e-4, 100.0)]
    public double Temperature { get; set; } = 0.1;

    /// <summary>Projection head output size. Default 128 (the paper).</summary>
    [Range(2, 65536)]
    public int ProjectionDim { get; set; } = 128;

    /// <summary>
    /// The authors' CIFAR code (github.com/HobbitLong/SupContrast): SGD at 0.5 for a batch of 1024 (0.125 × batch / 256),
    /// weight decay 1e-4. Other optimizers: the shared defaults.
    /// </summary>
    public OptimizerRecipe? RecipeFor(string optimizer) => optimizer == "sgd" ? new(0.125, 1e-4, "SupCon's CIFAR SGD recipe") : null;
}
