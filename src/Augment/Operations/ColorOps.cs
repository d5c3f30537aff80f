namespace Contrastive.Augment;

/// <summary>
/// Colour operations on float RGB HWC images in [0, 1], with torchvision's functional semantics
/// (adjust_brightness / contrast / saturation / hue, rgb_to_grayscale with ITU-R 601-2 luma weights).
/// </summary>
public static class ColorOps
{
    public const float LumaR = 0.299f, LumaG = 0.587f, LumaB = 0.114f;

    public static void Brightness(Span<float> rgb, float factor)
    {
        for (int i = 0; i < rgb.Length; i++) rgb[i] = Math.Clamp(rgb[i] * factor, 0f, 1f);
    }

    /// <summary>torchvision's solarize: every value at or above <paramref name="threshold"/> is inverted (1 − v).</summary>
    public static void Solarize(Span<float> rgb, float threshold)
    {
        for (int i = 0; i < rgb.Length; i++) if (rgb[i] >= threshold) rgb[i] = 1f - rgb[i];
    }

    /// <summary>Blends with the mean of the grayscale image.</summary>
    public static void Contrast(Span<float> rgb, float factor)
    {
        double sum = 0;
        for (int i = 0; i < rgb.Length; i += 3) sum += LumaR * rgb[i] + LumaG * rgb[i + 1] + LumaB * rgb[i + 2];
        float mean = (float)(sum / (rgb.Length / 3));
        float bias = (1 - factor) * mean;
        for (int i = 0; i < rgb.Length; i++) rgb[i] = Math.Clamp(factor * rgb[i] + bias, 0f, 1f);
    }

    /// <summary>Blends each pixel with its own grayscale value.</summary>
    public static void Saturation(Span<float> rgb, float factor)
    {
        for (int i = 0; i < rgb.Length; i += 3)
        {
            float gray = (1 - factor) * (LumaR * rgb[i] + LumaG * rgb[i + 1] + LumaB * rgb[i + 2]);
            rgb[i] = Math.Clamp(factor * rgb[i] + gray, 0f, 1f);
            rgb[i + 1] = Math.Clamp(factor * rgb[i + 1] + gray, 0f, 1f);
            rgb[i + 2] = Math.Clamp(factor * rgb[i + 2] + gray, 0f, 1f);
        }
    }

    /// <summary>Rotates hue by <paramref name="shift"/> turns (in [-0.5, 0.5]) in HSV space.</summary>
    public static void Hue(Span<float> rgb, float shift)
    {
        for (int i = 0; i < rgb.Length; i += 3)
        {
            float r = rgb[i], g = rgb[i + 1], b = rgb[i + 2];
            float max = MathF.Max(r, MathF.Max(g, b));
            float min = MathF.Min(r, MathF.Min(g, b));
            float delta = max - min;
            if (delta <= 0) continue; // gray: hue undefined, unchanged
            float h;
            if (max == r) h = (g - b) / delta;
            else if (max == g) h = 2 + (b - r) / delta;
            else h = 4 + (r - g) / delta;
            h = h / 6f + shift;
            h -= MathF.Floor(h);
            float s = delta / max, v = max;
            float h6 = h * 6f;
            int sector = (int)h6 % 6;
            float f = h6 - MathF.Floor(h6);
            float p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
            (rgb[i], rgb[i + 1], rgb[i + 2]) = sector switch
            {
                0 => (v, t, p),
                1 => (q, v, p),
                2 => (p, v, t),
                3 => (p, q, v),
                4 => (t, p, v),
                _ => (v, p, q),
            };
        }
    }

    public static void Grayscale(Span<float> rgb)
    {
        for (int i = 0; i < rgb.Length; i += 3)
        {
            float y = LumaR * rgb[i] + LumaG * rgb[i + 1] + LumaB * rgb[i + 2];
            rgb[i] = rgb[i + 1] = rgb[i + 2] = y;
        }
    }

    public static void FlipHorizontal(Span<float> rgb, int width, int height)
    {
        for (int y = 0; y < height; y++)
        {
            var row = rgb.Slice(y * width * 3, width * 3);
            for (int a = 0, b = width - 1; a < b; a++, b--)
            {
                for (int c = 0; c < 3; c++) (row[a * 3 + c], row[b * 3 + c]) = (row[b * 3 + c], row[a * 3 + c]);
            }
        }
    }
}
