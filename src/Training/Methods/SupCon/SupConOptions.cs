using System.ComponentModel.DataAnnotations;

namespace Contrastive.Training;

/// <summary>Supervised contrastive learning (Khosla et al. 2020). Configuration section "SupCon".</summary>
public sealed class SupConOptions
{
    /// <summary>Temperature. Default 0.1 (the paper).</summary>
    [Range(1e-4, 100.0)]
    public double Temperature { get; set; } = 0.1;

    /// <summary>Projection head output size. Default 128 (the paper).</summary>
    [Range(2, 65536)]
    public int ProjectionDim { get; set; } = 128;
}
