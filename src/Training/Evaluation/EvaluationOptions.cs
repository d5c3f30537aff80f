using System.ComponentModel.DataAnnotations;

namespace Contrastive.Training;

/// <summary>How encoders are scored (the end of a training run, and `contrastive eval`). Configuration section "Evaluation".</summary>
public sealed class EvaluationOptions
{
    /// <summary>kNN neighbours. Default 20 (the InstDisc / lightly protocol).</summary>
    [Range(1, 10000)]
    public int KnnK { get; set; } = 20;

    /// <summary>kNN temperature of the similarity weights. Default 0.1.</summary>
    [Range(1e-4, 100.0)]
    public double KnnTemperature { get; set; } = 0.1;

    /// <summary>
    /// Online evaluation: every this many steps, kNN top-1 of the encoder's features on held-out images (image methods),
    /// written to metrics.jsonl and TensorBoard as eval/online_knn_top1 and drawn in the report and on the service's job page.
    /// Its images are decoded once when the run starts (<see cref="OnlineBank"/> and <see cref="OnlineQueries"/>), so each
    /// evaluation is a forward pass over them and a kNN. 0 (the CLI's default): off; the service's jobs: 500.
    /// </summary>
    [Range(0, long.MaxValue)]
    public long Every { get; set; }

    /// <summary>Online evaluation: training images (outside the held-out split) whose features form the kNN bank. Default 2000.</summary>
    [Range(1, 1_000_000)]
    public int OnlineBank { get; set; } = 2000;

    /// <summary>Online evaluation: held-out images classified. Default 500.</summary>
    [Range(1, 1_000_000)]
    public int OnlineQueries { get; set; } = 500;

    /// <summary>
    /// Online evaluation of image-text methods (clip): the class names, comma-separated, in label order; each evaluation then
    /// adds zero-shot top-1 of the held-out images (eval/online_zero_shot_top1), prompted with CLIP's templates ("a photo of
    /// a {}." and two like it). Unset: none.
    /// </summary>
    public string? OnlineClasses { get; set; }

    /// <summary>Online evaluation: the most memory its decoded images may take, in MB; fewer images are kept beyond it (and the start line says so). Default 512.</summary>
    [Range(1, 1_000_000)]
    public int OnlineMaxMb { get; set; } = 512;

    /// <summary>Most training samples used as the kNN bank at the end of a run. Default 20000.</summary>
    [Range(1, int.MaxValue)]
    public int KnnBankSize { get; set; } = 20000;

    /// <summary>Epochs of a linear probe (full-batch Adam on frozen, standardised features, its rate falling to zero on a cosine). Default 300.</summary>
    [Range(1, 100_000)]
    public int ProbeEpochs { get; set; } = 300;

    /// <summary>The evaluation view's centre crop as a share of the shorter side before resizing (1 = the whole image). Default 0.875 (torchvision's 224/256).</summary>
    /// <summary>
    /// Image-text methods (clip): the held-out samples image↔text retrieval is scored on (the first ones read; recall falls
    /// as the gallery grows, so it is fixed). Default 1000 (the size of the Flickr30k test set).
    /// </summary>
    [Range(2, 1_000_000)]
    public int RetrievalSamples { get; set; } = 1000;

    [Range(0.01, 1.0)]
    public double CropFraction { get; set; } = 0.875;
}
