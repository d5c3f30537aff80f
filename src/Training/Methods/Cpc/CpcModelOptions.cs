namespace Contrastive.Training;

/// <summary>Sizes of a CPC model (van den Oord et al. 2018); the defaults are the paper's audio model.</summary>
public sealed record CpcModelOptions
{
    /// <summary>Input channels of the series.</summary>
    public int InputChannels { get; init; } = 1;

    /// <summary>Channels of every encoder layer (the paper: 512).</summary>
    public int EncoderChannels { get; init; } = 512;

    /// <summary>GRU hidden size of the autoregressive context (the paper: 256).</summary>
    public int ContextDim { get; init; } = 256;

    /// <summary>Steps ahead predicted, each with its own linear map W_k (the paper: 12).</summary>
    public int PredictionSteps { get; init; } = 12;

    /// <summary>Negatives drawn per prediction (the paper uses the other samples of the batch).</summary>
    public int Negatives { get; init; } = 128;

    /// <summary>Draw negatives from the same sequence too (other time steps), not only from other sequences.</summary>
    public bool SameSequenceNegatives { get; init; }

    /// <summary>(kernel, stride) of each encoder layer: 10/5, 8/4, 4/2, 4/2, 4/2 → 160× downsampling.</summary>
    public IReadOnlyList<(int Kernel, int Stride)> Layers { get; init; } = [(10, 5), (8, 4), (4, 2), (4, 2), (4, 2)];

    /// <summary>Input steps per encoded step: the product of the strides.</summary>
    public int Downsampling => Layers.Aggregate(1, (p, l) => p * l.Stride);
}
