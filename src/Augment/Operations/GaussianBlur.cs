namespace Contrastive.Augment;

/// <summary>
/// Separable Gaussian blur on float RGB HWC with reflect padding; the kernel is torchvision's
/// (odd size k, taps at -(k-1)/2 .. (k-1)/2, exp(-x²/2σ²), normalised).
/// </summary>
public static class GaussianBlur
{
    public static int KernelSizeFor(int imageSize, double fraction = 0.1)
    {
        int k = (int)Math.Round(imageSize * fraction);
        if (k % 2 == 0) k += 1;
        return Math.Max(3, k);
    }

    public static void Kernel(Span<float> kernel, double sigma)
    {
        int k = kernel.Length;
        double half = (k - 1) * 0.5, sum = 0;
        for (int i = 0; i < k; i++)
        {
            double x = i - half;
            double v = Math.Exp(-0.5 * (x / sigma) * (x / sigma));
            kernel[i] = (float)v;
            sum += v;
        }
        for (int i = 0; i < k; i++) kernel[i] = (float)(kernel[i] / sum);
    }

    /// <summary>The dropped share of the kernel's mass up to which <see cref="Significant"/> leaves taps out (0.026 grey levels at most).</summary>
    internal const double NegligibleMass = 1e-4;

    /// <summary>
    /// The centred part of <paramref name="kernel"/> (odd length, symmetric, summing to 1) outside which the taps hold no
    /// more than <see cref="NegligibleMass"/> of the weight, left as they are (not renormalised), so a blur with it differs
    /// from one with the whole kernel by at most that share of the value range: at σ 2 (the top of SimCLR's range) 17 of
    /// torchvision's 23 taps at 224 px, at σ 1 nine, at σ 0.5 five. Empty when only the centre tap is left: at small σ (below
    /// about 0.22) the blur is the identity within that bound, and is skipped.
    /// </summary>
    internal static ReadOnlySpan<float> Significant(ReadOnlySpan<float> kernel)
    {
        int half = kernel.Length / 2, r = half;
        double dropped = 0;
        while (r > 0)
        {
            double next = dropped + kernel[half - r] + kernel[half + r];
            if (next > NegligibleMass) break;
            dropped = next;
            r--;
        }
        return r == 0 ? [] : kernel.Slice(half - r, 2 * r + 1);
    }

    /// <param name="temp">Scratch of at least the image's size.</param>
    public static void Apply(Span<float> rgb, int width, int height, ReadOnlySpan<float> kernel, Span<float> temp)
    {
        int r = kernel.Length / 2;
        // Horizontal: rgb -> temp.
        for (int y = 0; y < height; y++)
        {
            var row = rgb.Slice(y * width * 3, width * 3);
            var outRow = temp.Slice(y * width * 3, width * 3);
            for (int x = 0; x < width; x++)
            {
                float a = 0, b = 0, c = 0;
                for (int k = -r; k <= r; k++)
                {
                    int xx = Reflect(x + k, width) * 3;
                    float w = kernel[k + r];
                    a += w * row[xx]; b += w * row[xx + 1]; c += w * row[xx + 2];
                }
                outRow[x * 3] = a; outRow[x * 3 + 1] = b; outRow[x * 3 + 2] = c;
            }
        }
        // Vertical: temp -> rgb.
        int stride = width * 3;
        for (int y = 0; y < height; y++)
        {
            var outRow = rgb.Slice(y * stride, stride);
            outRow.Clear();
            for (int k = -r; k <= r; k++)
            {
                var inRow = temp.Slice(Reflect(y + k, height) * stride, stride);
                float w = kernel[k + r];
                for (int i = 0; i < stride; i++) outRow[i] += w * inRow[i];
            }
        }
    }

    /// <summary>Reflect padding without repeating the edge (numpy 'reflect', torch 'reflect').</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static int Reflect(int i, int n)
    {
        // Inside, or one reflection away (every tap of a kernel narrower than the image): no division.
        if ((uint)i < (uint)n) return i;
        if (i < 0 && i > -n) return -i;
        if (i >= n && i < 2 * n - 1) return 2 * (n - 1) - i;
        if (n == 1) return 0;
        int period = 2 * (n - 1);
        i = Math.Abs(i) % period;
        return i < n ? i : period - i;
    }
}
