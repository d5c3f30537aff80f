using System.Runtime.CompilerServices;
using Contrastive.Core;

namespace Contrastive.Augment;

/// <summary>The colour jitter's steps of one view, in their drawn order (at most one of each adjustment).</summary>
[InlineArray(4)]
internal struct ColourSteps
{
    private ColourStep _first;
}

/// <summary>
/// Everything one view draws from its random stream, in the order drawn: the crop (in the image's stored coordinates),
/// flip, the colour jitter (order, then one factor per adjustment: torchvision's ColorJitter.get_params), grayscale, the
/// blur's σ (NaN: no blur), solarize. Drawing first and making the view after lets the passes that make it run in any
/// order they like while the draws stay a pure function of (seed, epoch, sample, view).
/// </summary>
internal struct ViewDraw
{
    public CropRect Crop;
    public bool Flip;
    public ColourSteps Steps;
    public int StepCount;
    public bool Grayscale;
    public double BlurSigma;
    public bool Solarize;

    public static ViewDraw Draw(int width, int height, AugmentOptions o, double scaleMin, double scaleMax, double blurProbability,
        double solarizeProbability, ref SampleRandom rng)
    {
        var d = new ViewDraw { BlurSigma = double.NaN };
        d.Crop = SimClrViewPolicy.DrawCrop(width, height, o, scaleMin, scaleMax, ref rng);
        d.Flip = rng.Chance(o.FlipProbability);
        if (rng.Chance(o.JitterProbability))
        {
            double s = o.JitterStrength;
            double b = 0.8 * s, c = 0.8 * s, sat = 0.8 * s, h = Math.Min(0.5, 0.2 * s);
            Span<int> order = [0, 1, 2, 3];
            for (int i = 3; i > 0; i--)
            {
                int j = rng.NextInt(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }
            Span<float> factors =
            [
                (float)rng.Uniform(Math.Max(0, 1 - b), 1 + b),
                (float)rng.Uniform(Math.Max(0, 1 - c), 1 + c),
                (float)rng.Uniform(Math.Max(0, 1 - sat), 1 + sat),
                (float)rng.Uniform(-h, h),
            ];
            foreach (int op in order) d.Steps[d.StepCount++] = new ColourStep((ColourOp)op, factors[op]);
        }
        d.Grayscale = rng.Chance(o.GrayscaleProbability);
        if (rng.Chance(blurProbability)) d.BlurSigma = rng.Uniform(o.BlurSigmaMin, o.BlurSigmaMax);
        d.Solarize = solarizeProbability > 0 && rng.Chance(solarizeProbability);
        return d;
    }
}
