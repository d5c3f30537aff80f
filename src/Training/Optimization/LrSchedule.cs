namespace Contrastive.Training;

/// <summary>Linear warmup to the base rate, then cosine decay to <see cref="FinalFraction"/> of it, over training progress in [0, 1].</summary>
public sealed record LrSchedule(double BaseLr, double WarmupFraction = 0.05, double FinalFraction = 0.0)
{
    public double At(double progress)
    {
        progress = Math.Clamp(progress, 0, 1);
        if (WarmupFraction > 0 && progress < WarmupFraction) return BaseLr * Math.Max(progress / WarmupFraction, 1e-3);
        double t = WarmupFraction >= 1 ? 1 : (progress - WarmupFraction) / (1 - WarmupFraction);
        double cos = 0.5 * (1 + Math.Cos(Math.PI * t));
        return BaseLr * (FinalFraction + (1 - FinalFraction) * cos);
    }
}
