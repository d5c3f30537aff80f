using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>The exponential moving average that MoCo's key network, BYOL's target and DINO's teacher follow.</summary>
internal static class MovingAverage
{
    /// <summary>A rate rising on a cosine from <paramref name="baseRate"/> at progress 0 to 1 at progress 1 (BYOL, DINO).</summary>
    public static double CosineRate(double baseRate, double progress) =>
        1 - (1 - baseRate) * (Math.Cos(Math.PI * Math.Clamp(progress, 0, 1)) + 1) / 2;

    /// <summary>θ_target ← rate·θ_target + (1 − rate)·θ_source, parameter by parameter in order.</summary>
    public static void Update(IEnumerable<Parameter> target, IEnumerable<Parameter> source, double rate)
    {
        using var _ = no_grad();
        foreach (var (t, s) in target.Zip(source)) t.mul_(rate).add_(s, alpha: 1 - rate);
    }
}
