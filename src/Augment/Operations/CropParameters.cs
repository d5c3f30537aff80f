namespace Contrastive.Augment;

/// <summary>Random and fixed crop rectangles, with torchvision's semantics.</summary>
public static class CropParameters
{
    /// <summary>
    /// torchvision's RandomResizedCrop.get_params: ten tries at an area fraction in <paramref name="scaleMin"/>..<paramref name="scaleMax"/>
    /// and a log-uniform aspect ratio, then the centre crop clamped to the ratio range.
    /// </summary>
    public static CropRect RandomResized(int width, int height, double scaleMin, double scaleMax, double ratioMin, double ratioMax, ref SampleRandom rng)
    {
        double area = (double)width * height;
        double logLo = Math.Log(ratioMin), logHi = Math.Log(ratioMax);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double target = area * rng.Uniform(scaleMin, scaleMax);
            double aspect = Math.Exp(rng.Uniform(logLo, logHi));
            int w = (int)Math.Round(Math.Sqrt(target * aspect));
            int h = (int)Math.Round(Math.Sqrt(target / aspect));
            if (w > 0 && w <= width && h > 0 && h <= height)
            {
                int y = rng.NextInt(height - h + 1);
                int x = rng.NextInt(width - w + 1);
                return new CropRect(x, y, w, h);
            }
        }
        double inRatio = (double)width / height;
        int cw, ch;
        if (inRatio < ratioMin) { cw = width; ch = (int)Math.Round(cw / ratioMin); }
        else if (inRatio > ratioMax) { ch = height; cw = (int)Math.Round(ch * ratioMax); }
        else { cw = width; ch = height; }
        cw = Math.Clamp(cw, 1, width);
        ch = Math.Clamp(ch, 1, height);
        return new CropRect((width - cw) / 2, (height - ch) / 2, cw, ch);
    }

    /// <summary>
    /// The source region that Resize(shorter side = size / <paramref name="cropFraction"/>) followed by CenterCrop(size) shows.
    /// </summary>
    public static CropRect Center(int width, int height, double cropFraction)
    {
        int side = Math.Clamp((int)Math.Round(Math.Min(width, height) * cropFraction), 1, Math.Min(width, height));
        return new CropRect((width - side) / 2, (height - side) / 2, side, side);
    }
}
