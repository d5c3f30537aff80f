using System.ComponentModel.DataAnnotations;

namespace Contrastive.Training;

/// <summary>SimCLR (Chen et al. 2020). Configuration section "SimClr".</summary>
public sealed class SimClrOptions : IOptimizerRecipes
{
    /// <summary>
    /// NT-Xent temperature. Default 0.2 (MoCo v2's; the paper used 0.5 for CIFAR-10 and 0.1 for ImageNet with large
    /// batches): at the default batch of 128 and minutes of training, 0.2 learned faster than 0.5 and as fast as 0.1
    /// (docs/benchmarks.md, SimCLR defaults).
    /// </summary>
    [Range(1e-4, 100.0)]
    public double Temperature { get; set; } = 0.2;

    /// <summary>Projection head output size. Default 128 (the paper).</summary>
    [Range(2, 65536)]
    public int ProjectionDim { get; set; } = 128;

    /// <summary>The AdamW rate measured for short runs (<see cref="AdamWLearningRate"/>, not batch-scaled).</summary>
    public static readonly OptimizerRecipe AdamW = new(AdamWLearningRate, 1e-4, "SimCLR's AdamW rate for short runs", ScaleWithBatch: false);

    /// <summary>
    /// AdamW's peak rate for SimCLR: 3e-3, three times the shared 1e-3. The paper used LARS only; with AdamW at batch 128,
    /// 3e-3 learned faster than 1e-3 in minutes on Fashion-MNIST and 6e-3 no faster (docs/benchmarks.md, SimCLR defaults).
    /// </summary>
    public const double AdamWLearningRate = 3e-3;

    /// <summary>
    /// The optimizer settings where not set: the paper's LARS at 0.3 × batch / 256 with weight decay 1e-6 (Chen et al.
    /// 2020); AdamW at <see cref="AdamWLearningRate"/>, decay 1e-4; sgd: the shared defaults.
    /// </summary>
    public OptimizerRecipe? RecipeFor(string optimizer) => optimizer switch
    {
        "lars" => new(0.3, 1e-6, "SimCLR's LARS recipe"),
        "adamw" => AdamW,
        _ => null,
    };
}
