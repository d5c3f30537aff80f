namespace Contrastive.Augment;

/// <summary>Conversions between the working layout (float RGB HWC in [0, 1]) and the batch layout (uint8 CHW).</summary>
public static class Layout
{
    public static void ToChwBytes(ReadOnlySpan<float> hwc, int width, int height, Span<byte> chw)
    {
        int plane = width * height;
        if (chw.Length < plane * 3) throw new ArgumentException("destination too small", nameof(chw));
        var r = chw[..plane];
        var g = chw.Slice(plane, plane);
        var b = chw.Slice(plane * 2, plane);
        for (int i = 0, p = 0; i < plane; i++, p += 3)
        {
            r[i] = Quantize(hwc[p]);
            g[i] = Quantize(hwc[p + 1]);
            b[i] = Quantize(hwc[p + 2]);
        }
    }

    private static byte Quantize(float v) => (byte)Math.Clamp((int)(v * 255f + 0.5f), 0, 255);
}
