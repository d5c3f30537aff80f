using System.ComponentModel.DataAnnotations;

namespace Contrastive.Training;

/// <summary>CPC (van den Oord et al. 2018): model sizes, loss settings and the probe. Configuration section "Cpc"; the windows are section "Series". Defaults suit two CPU cores; the paper's are 512/256.</summary>
public sealed class CpcOptions
{
    /// <summary>Channels of every encoder layer. Default 128 (the paper: 512).</summary>
    [Range(1, 4096)]
    public int EncoderChannels { get; set; } = 128;

    /// <summary>GRU context size. Default 128 (the paper: 256).</summary>
    [Range(1, 4096)]
    public int ContextDim { get; set; } = 128;

    /// <summary>Steps ahead predicted. Default 12.</summary>
    [Range(1, 1000)]
    public int PredictionSteps { get; set; } = 12;

    /// <summary>Negatives per prediction. Default 64.</summary>
    [Range(1, 100_000)]
    public int Negatives { get; set; } = 64;

    /// <summary>Draw negatives from other steps of the same sequence too. Default false (other sequences only).</summary>
    public bool SameSequenceNegatives { get; set; }


    public CpcModelOptions ToModelOptions(int inputChannels) => new()
    {
        InputChannels = inputChannels, EncoderChannels = EncoderChannels, ContextDim = ContextDim, PredictionSteps = PredictionSteps,
        Negatives = Negatives, SameSequenceNegatives = SameSequenceNegatives,
    };
}
