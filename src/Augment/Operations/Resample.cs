namespace Contrastive.Augment;

/// <summary>
/// Crop + resize with a triangle (bilinear) filter whose support widens with the downscale factor, i.e.
/// bilinear with antialiasing, as Pillow's BILINEAR resize and torchvision's resize(antialias=True) do.
/// Separable: a horizontal pass into a scratch buffer, then a vertical pass. Output is float HWC in [0, 1].
/// </summary>
public static class Resample
{
    /// <summary>Reusable filter tables and the intermediate buffer; one per worker.</summary>
    public sealed class Scratch
    {
        internal int[] XStart = [], XCount = [], YStart = [], YCount = [];
        internal float[] XWeights = [], YWeights = [], Rows = [];
        internal int XMax, YMax;
    }

    public static void CropResize(ReadOnlySpan<byte> src, int srcWidth, int srcHeight, int x0, int y0, int cropWidth, int cropHeight,
        Span<float> dst, int outWidth, int outHeight, Scratch scratch)
    {
        if (x0 < 0 || y0 < 0 || cropWidth < 1 || cropHeight < 1 || x0 + cropWidth > srcWidth || y0 + cropHeight > srcHeight)
            throw new ArgumentOutOfRangeException(nameof(x0), $"crop ({x0},{y0},{cropWidth}x{cropHeight}) is outside the {srcWidth}x{srcHeight} image");
        if (dst.Length < outWidth * outHeight * 3) throw new ArgumentException("destination too small", nameof(dst));

        scratch.XMax = BuildFilter(cropWidth, outWidth, ref scratch.XStart, ref scratch.XCount, ref scratch.XWeights);
        scratch.YMax = BuildFilter(cropHeight, outHeight, ref scratch.YStart, ref scratch.YCount, ref scratch.YWeights);

        // Horizontal pass over the crop's rows that the vertical pass will read.
        int rowLen = outWidth * 3;
        int needRows = cropHeight * rowLen;
        if (scratch.Rows.Length < needRows) scratch.Rows = new float[needRows];
        var rows = scratch.Rows.AsSpan(0, needRows);
        const float inv255 = 1f / 255f;
        for (int y = 0; y < cropHeight; y++)
        {
            var srcRow = src.Slice(((y0 + y) * srcWidth + x0) * 3, cropWidth * 3);
            var outRow = rows.Slice(y * rowLen, rowLen);
            for (int ox = 0; ox < outWidth; ox++)
            {
                int start = scratch.XStart[ox], count = scratch.XCount[ox];
                var w = scratch.XWeights.AsSpan(ox * scratch.XMax, count);
                float r = 0, g = 0, b = 0;
                int p = start * 3;
                for (int k = 0; k < count; k++, p += 3)
                {
                    float wk = w[k];
                    r += wk * srcRow[p];
                    g += wk * srcRow[p + 1];
                    b += wk * srcRow[p + 2];
                }
                outRow[ox * 3] = r * inv255;
                outRow[ox * 3 + 1] = g * inv255;
                outRow[ox * 3 + 2] = b * inv255;
            }
        }

        // Vertical pass.
        for (int oy = 0; oy < outHeight; oy++)
        {
            int start = scratch.YStart[oy], count = scratch.YCount[oy];
            var w = scratch.YWeights.AsSpan(oy * scratch.YMax, count);
            var outRow = dst.Slice(oy * rowLen, rowLen);
            outRow.Clear();
            for (int k = 0; k < count; k++)
            {
                float wk = w[k];
                var inRow = rows.Slice((start + k) * rowLen, rowLen);
                for (int i = 0; i < rowLen; i++) outRow[i] += wk * inRow[i];
            }
            for (int i = 0; i < rowLen; i++) outRow[i] = Math.Clamp(outRow[i], 0f, 1f);
        }
    }

    /// <summary>Builds per-output-pixel input ranges and normalised triangle weights. Returns the row stride of the weight table.</summary>
    internal static int BuildFilter(int inSize, int outSize, ref int[] starts, ref int[] counts, ref float[] weights)
    {
        double scale = (double)inSize / outSize;
        double support = scale > 1 ? scale : 1.0;
        double filterScale = scale > 1 ? scale : 1.0;
        int maxCount = (int)Math.Ceiling(support) * 2 + 1;
        if (starts.Length < outSize) { starts = new int[outSize]; counts = new int[outSize]; }
        if (weights.Length < outSize * maxCount) weights = new float[outSize * maxCount];
        for (int o = 0; o < outSize; o++)
        {
            double center = (o + 0.5) * scale;
            int lo = Math.Max(0, (int)Math.Floor(center - support + 0.5));
            int hi = Math.Min(inSize, (int)Math.Floor(center + support + 0.5));
            int n = Math.Min(hi - lo, maxCount);
            double sum = 0;
            for (int k = 0; k < n; k++)
            {
                double x = (lo + k + 0.5 - center) / filterScale;
                double wt = Math.Max(0.0, 1.0 - Math.Abs(x));
                weights[o * maxCount + k] = (float)wt;
                sum += wt;
            }
            if (sum <= 0)
            {
                // Degenerate (can only happen at 1-pixel inputs): take the nearest pixel.
                n = 1;
                lo = Math.Clamp((int)center, 0, inSize - 1);
                weights[o * maxCount] = 1f;
                sum = 1;
            }
            for (int k = 0; k < n; k++) weights[o * maxCount + k] = (float)(weights[o * maxCount + k] / sum);
            starts[o] = lo;
            counts[o] = n;
        }
        return maxCount;
    }
}
