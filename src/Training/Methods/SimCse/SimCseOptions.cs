using System.ComponentModel.DataAnnotations;
using Contrastive.Training.Text;

namespace Contrastive.Training;

/// <summary>
/// Unsupervised SimCSE (Gao et al. 2021). Configuration section "SimCse". The text tower is CLIP's
/// (<see cref="TextTransformer"/>; its shape and tokenizer keys and defaults are those of the Clip section) with dropout; the paper fine-tunes BERT-base
/// (768 wide, 12 layers) from its pre-trained weights, which nothing here can download: this tower starts from random.
/// </summary>
public sealed class SimCseOptions : TextTowerOptions
{
    /// <summary>Softmax temperature. Default 0.05 (the paper's).</summary>
    [Range(1e-4, 100.0)]
    public double Temperature { get; set; } = 0.05;

    /// <summary>Dropout on the embeddings and each residual branch: the only augmentation. Default 0.1 (the paper's, BERT's).</summary>
    [Range(0.01, 0.9)]
    public double Dropout { get; set; } = 0.1;
}
