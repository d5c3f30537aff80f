using System.ComponentModel.DataAnnotations;

namespace Contrastive.Augment;

/// <summary>Random windows of a series and their augmentations (CPC's input). Configuration section "Series".</summary>
public sealed class SeriesWindowOptions
{
    /// <summary>Window length in time steps (samples). Default 6400 (0.4 s of 16 kHz audio; the CPC paper uses 20480), so that two CPU cores train in minutes.</summary>
    [Range(1, 10_000_000)]
    public int Length { get; set; } = 6400;

    /// <summary>Probability of scaling a window's amplitude. Default 0.5.</summary>
    [Range(0.0, 1.0)]
    public double ScaleProbability { get; set; } = 0.5;

    /// <summary>Amplitude factor range (uniform; one factor for all channels). Default 0.5 to 1.5.</summary>
    [Range(0.0, 1000.0)]
    public double ScaleMin { get; set; } = 0.5;

    [Range(0.0, 1000.0)]
    public double ScaleMax { get; set; } = 1.5;

    /// <summary>Probability of adding Gaussian noise. Default 0.5.</summary>
    [Range(0.0, 1.0)]
    public double NoiseProbability { get; set; } = 0.5;

    /// <summary>Noise standard deviation relative to each channel's RMS in the window. Default 0.05.</summary>
    [Range(0.0, 100.0)]
    public double NoiseLevel { get; set; } = 0.05;

    /// <summary>Probability of zeroing one random span of time. Default 0.3.</summary>
    [Range(0.0, 1.0)]
    public double MaskProbability { get; set; } = 0.3;

    /// <summary>Longest masked span as a fraction of the window. Default 0.1.</summary>
    [Range(0.0, 1.0)]
    public double MaskMaxFraction { get; set; } = 0.1;
}
