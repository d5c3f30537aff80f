using System.ComponentModel.DataAnnotations;
using Contrastive.Training.Text;

namespace Contrastive.Training;

/// <summary>
/// CLIP (Radford et al. 2021). Configuration section "Clip". The image tower is the run's encoder (Training:Encoder) and a
/// linear projection; the text tower a small causal transformer. The paper's smallest text tower (and open_clip's
/// ViT-B/32) is 512 wide with 12 layers and 8 heads and a 512-wide joint embedding; the defaults here are 256 wide with 4
/// layers and 4 heads and a 128-wide embedding, so a CPU trains it in minutes (the vocabulary's 50,258 embeddings are most
/// of its 16 M parameters).
/// </summary>
public sealed class ClipOptions : TextTowerOptions
{
    /// <summary>Initial softmax temperature: the logit scale starts at 1/T. Default 0.07 (the paper's).</summary>
    [Range(1e-4, 100.0)]
    public double InitialTemperature { get; set; } = 0.07;

    /// <summary>Upper bound of the learnable logit scale. Default 100 (the paper's).</summary>
    [Range(1.0, 1e6)]
    public double MaxLogitScale { get; set; } = ClipLoss.MaxScale;

    /// <summary>
    /// Smallest area fraction of the training view's random resized crop. Default 0.9 (open_clip's training transform:
    /// a crop of 90 to 100 % and nothing else; captions name colours and positions, so no flip, colour jitter or grayscale).
    /// </summary>
    [Range(0.01, 1.0)]
    public double CropScaleMin { get; set; } = 0.9;

    /// <summary>Dropout in the text tower. Default 0 (CLIP uses none).</summary>
    [Range(0.0, 0.9)]
    public double TextDropout { get; set; }
}
