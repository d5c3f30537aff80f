using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Contrastive.Augment;

/// <summary>One adjustment of the colour jitter.</summary>
internal enum ColourOp : byte
{
    Brightness,
    Contrast,
    Saturation,
    Hue,
}

/// <summary>A colour adjustment and its factor (the hue's shift in turns), in the order the view drew them.</summary>
internal readonly record struct ColourStep(ColourOp Op, float Factor);

/// <summary>
/// A view's per-pixel work in as few passes over memory as it allows: the colour jitter (in the drawn order), grayscale,
/// solarize and the rounding to uint8 CHW are applied to each block of pixels while it is in registers, instead of one
/// pass over the planes each (<see cref="PlanarOps"/>, which stays the reference: the arithmetic of every step is its, in
/// the same order, so a pixel comes out as the chain of <see cref="PlanarOps"/> calls makes it). The one thing a pixel
/// cannot be done without is contrast's mean luma, which depends on the steps before it: a first pass computes it from
/// them (reading the planes without writing), the second applies everything. The Gaussian blur, which needs its
/// neighbours, reads the planes the colour pass wrote and rounds its own output into the bytes.
/// </summary>
internal static class ViewPass
{
    private const float LumaR = ColorOps.LumaR, LumaG = ColorOps.LumaG, LumaB = ColorOps.LumaB;

    private static int Lanes => Vector<float>.Count;

    /// <summary>Pixels a chunk: the chunk's three planes (12 KB of floats) stay in the L1 cache through all its steps.</summary>
    private const int Chunk = 1024;

    /// <summary>
    /// Applies <paramref name="steps"/> in order, then grayscale, then solarize (values at or above
    /// <paramref name="solarize"/> become 1 − v; NaN: none) to the planes, and rounds them into <paramref name="chw"/>
    /// (clamp(⌊255 v + 0.5⌋, 0, 255)), or, when <paramref name="chw"/> is empty, leaves the floats for a blur. The planes
    /// are changed either way.
    /// </summary>
    public static void Colour(Span<float> planes, int pixels, ReadOnlySpan<ColourStep> steps, bool grayscale, float solarize, Span<byte> chw)
    {
        if (planes.Length < 3 * pixels) throw new ArgumentException("fewer than three planes of the given size", nameof(planes));
        bool toBytes = !chw.IsEmpty;
        if (toBytes && chw.Length < 3 * pixels) throw new ArgumentException("destination too small", nameof(chw));
        int contrastAt = -1;
        for (int s = 0; s < steps.Length; s++)
        {
            if (steps[s].Op != ColourOp.Contrast) continue;
            if (contrastAt >= 0) throw new ArgumentException("at most one contrast step", nameof(steps));
            contrastAt = s;
        }

        ref float r = ref MemoryMarshal.GetReference(planes);
        ref float g = ref Unsafe.Add(ref r, pixels);
        ref float b = ref Unsafe.Add(ref r, 2 * pixels);
        float bias = 0;
        var after = steps;
        if (contrastAt >= 0)
        {
            // The steps before contrast, chunk by chunk, summing each plane for the mean luma (PlanarOps.Contrast's).
            var before = steps[..contrastAt];
            double sumR = 0, sumG = 0, sumB = 0;
            for (int i = 0; i < pixels; i += Chunk)
            {
                int n = Math.Min(Chunk, pixels - i);
                foreach (var step in before) Apply(ref Unsafe.Add(ref r, i), ref Unsafe.Add(ref g, i), ref Unsafe.Add(ref b, i), n, step, 0f);
                sumR += Sum(ref Unsafe.Add(ref r, i), n);
                sumG += Sum(ref Unsafe.Add(ref g, i), n);
                sumB += Sum(ref Unsafe.Add(ref b, i), n);
            }
            float factor = steps[contrastAt].Factor;
            bias = (1 - factor) * (float)((LumaR * sumR + LumaG * sumG + LumaB * sumB) / pixels);
            after = steps[contrastAt..];
        }

        ref byte outR = ref MemoryMarshal.GetReference(chw);
        for (int i = 0; i < pixels; i += Chunk)
        {
            int n = Math.Min(Chunk, pixels - i);
            ref float cr = ref Unsafe.Add(ref r, i);
            ref float cg = ref Unsafe.Add(ref g, i);
            ref float cb = ref Unsafe.Add(ref b, i);
            foreach (var step in after) Apply(ref cr, ref cg, ref cb, n, step, bias);
            if (grayscale) Grayscale(ref cr, ref cg, ref cb, n);
            if (toBytes)
            {
                RoundRow(MemoryMarshal.CreateReadOnlySpan(ref cr, n), chw.Slice(i, n), solarize);
                RoundRow(MemoryMarshal.CreateReadOnlySpan(ref cg, n), chw.Slice(pixels + i, n), solarize);
                RoundRow(MemoryMarshal.CreateReadOnlySpan(ref cb, n), chw.Slice(2 * pixels + i, n), solarize);
            }
            else if (!float.IsNaN(solarize))
            {
                Solarize(ref cr, n, solarize);
                Solarize(ref cg, n, solarize);
                Solarize(ref cb, n, solarize);
            }
        }
    }

    /// <summary>One step on <paramref name="n"/> pixels of the three planes, with <see cref="PlanarOps"/>' arithmetic.</summary>
    private static void Apply(ref float r, ref float g, ref float b, int n, ColourStep step, float bias)
    {
        switch (step.Op)
        {
            case ColourOp.Brightness:
                Affine(ref r, n, step.Factor, 0f);
                Affine(ref g, n, step.Factor, 0f);
                Affine(ref b, n, step.Factor, 0f);
                break;
            case ColourOp.Contrast:
                Affine(ref r, n, step.Factor, bias);
                Affine(ref g, n, step.Factor, bias);
                Affine(ref b, n, step.Factor, bias);
                break;
            case ColourOp.Saturation:
                PlanarOps.Saturation(ref r, ref g, ref b, n, step.Factor);
                break;
            default:
                PlanarOps.Hue(ref r, ref g, ref b, n, step.Factor);
                break;
        }
    }

    /// <summary>v ← clamp(factor · v + bias, 0, 1), as PlanarOps' brightness (bias 0) and contrast.</summary>
    private static void Affine(ref float p, int n, float factor, float bias)
    {
        var vf = new Vector<float>(factor);
        var vb = new Vector<float>(bias);
        int i = 0;
        for (; i <= n - Lanes; i += Lanes)
            Clamp01(Vector.LoadUnsafe(ref p, (nuint)i) * vf + vb).StoreUnsafe(ref p, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref p, i) = Math.Clamp(factor * Unsafe.Add(ref p, i) + bias, 0f, 1f);
    }

    private static double Sum(ref float p, int n)
    {
        var acc = Vector<float>.Zero;
        int i = 0;
        for (; i <= n - Lanes; i += Lanes) acc += Vector.LoadUnsafe(ref p, (nuint)i);
        double sum = Vector.Sum(acc);
        for (; i < n; i++) sum += Unsafe.Add(ref p, i);
        return sum;
    }

    private static void Grayscale(ref float r, ref float g, ref float b, int n)
    {
        int i = 0;
        for (; i <= n - Lanes; i += Lanes)
        {
            var y = Luma(Vector.LoadUnsafe(ref r, (nuint)i), Vector.LoadUnsafe(ref g, (nuint)i), Vector.LoadUnsafe(ref b, (nuint)i));
            y.StoreUnsafe(ref r, (nuint)i);
            y.StoreUnsafe(ref g, (nuint)i);
            y.StoreUnsafe(ref b, (nuint)i);
        }
        for (; i < n; i++)
            Unsafe.Add(ref r, i) = Unsafe.Add(ref g, i) = Unsafe.Add(ref b, i) = LumaR * Unsafe.Add(ref r, i) + LumaG * Unsafe.Add(ref g, i) + LumaB * Unsafe.Add(ref b, i);
    }

    private static void Solarize(ref float p, int n, float threshold)
    {
        var t = new Vector<float>(threshold);
        int i = 0;
        for (; i <= n - Lanes; i += Lanes)
        {
            var v = Vector.LoadUnsafe(ref p, (nuint)i);
            Vector.ConditionalSelect(Vector.GreaterThanOrEqual(v, t), Vector<float>.One - v, v).StoreUnsafe(ref p, (nuint)i);
        }
        for (; i < n; i++) if (Unsafe.Add(ref p, i) >= threshold) Unsafe.Add(ref p, i) = 1f - Unsafe.Add(ref p, i);
    }

    /// <summary>
    /// <see cref="PlanarOps.Blur"/> (the same sums in the same order) whose columns are rounded into <paramref name="chw"/>
    /// (solarized first, unless <paramref name="solarize"/> is NaN), a row at a time, from a ring of as many blurred rows
    /// as the kernel has taps, each row blurred once when a column first needs it: the blurred image is never written
    /// out whole (its 600 KB at 224 px, with the planes', would not stay in the L2 cache).
    /// </summary>
    public static void BlurToBytes(Span<float> planes, int width, int height, ReadOnlySpan<float> kernel, PlanarOps.Scratch scratch,
        float solarize, Span<byte> chw)
    {
        int plane = width * height;
        if (planes.Length < 3 * plane) throw new ArgumentException("fewer than three planes of the given size", nameof(planes));
        if (chw.Length < 3 * plane) throw new ArgumentException("destination too small", nameof(chw));
        int taps = kernel.Length, radius = taps / 2;
        if (scratch.Taps.Length < taps) scratch.Taps = new int[taps];
        if (scratch.RowTaps.Length < taps) scratch.RowTaps = new int[taps];
        if (scratch.Out.Length < width) scratch.Out = new float[width];
        if (scratch.Pad.Length < width + 2 * radius) scratch.Pad = new float[width + 2 * radius];
        if (scratch.BlurRing.Length < taps * width) scratch.BlurRing = new float[taps * width];
        if (scratch.BlurRingRow.Length < taps) scratch.BlurRingRow = new int[taps];
        var offsets = scratch.Taps.AsSpan(0, taps);
        var rowTaps = scratch.RowTaps.AsSpan(0, taps);
        for (int k = 0; k < taps; k++) rowTaps[k] = k;
        var row = scratch.Out.AsSpan(0, width);
        var pad = scratch.Pad.AsSpan(0, width + 2 * radius);
        ref float ring = ref MemoryMarshal.GetArrayDataReference(scratch.BlurRing);
        // Each row's slot, row mod taps, worked out once (no division in the loops).
        if (scratch.SlotOf.Length < height) scratch.SlotOf = new int[height];
        var slotOf = scratch.SlotOf.AsSpan(0, height);
        for (int y = 0, slot = 0; y < height; y++, slot = slot + 1 == taps ? 0 : slot + 1) slotOf[y] = slot;
        for (int c = 0; c < 3; c++)
        {
            // An output row's taps are rows reflected from 2·radius + 1 consecutive ones: distinct slots of the ring.
            scratch.BlurRingRow.AsSpan(0, taps).Fill(-1);
            var channel = planes.Slice(c * plane, plane);
            for (int y = 0; y < height; y++)
            {
                for (int k = 0; k < taps; k++)
                {
                    int source = GaussianBlur.Reflect(y + k - radius, height), slot = slotOf[source];
                    offsets[k] = slot * width;
                    if (scratch.BlurRingRow[slot] == source) continue;
                    scratch.BlurRingRow[slot] = source;
                    var src = channel.Slice(source * width, width);
                    src.CopyTo(pad[radius..]);
                    for (int x = 0; x < radius; x++)
                    {
                        pad[x] = src[GaussianBlur.Reflect(x - radius, width)];
                        pad[radius + width + x] = src[GaussianBlur.Reflect(width + x, width)];
                    }
                    PlanarOps.WeightedSum(ref MemoryMarshal.GetReference(pad), rowTaps, kernel, MemoryMarshal.CreateSpan(ref Unsafe.Add(ref ring, slot * width), width));
                }
                PlanarOps.WeightedSum(ref ring, offsets, kernel, row);
                RoundRow(row, chw.Slice(c * plane + y * width, width), solarize);
            }
        }
    }

    /// <summary>A row of floats in [0, 1] (solarized first unless <paramref name="solarize"/> is NaN) rounded into bytes.</summary>
    private static void RoundRow(ReadOnlySpan<float> row, Span<byte> dst, float solarize)
    {
        ref float src = ref MemoryMarshal.GetReference(row);
        ref byte d = ref MemoryMarshal.GetReference(dst);
        bool solar = !float.IsNaN(solarize);
        var t = new Vector<float>(solarize);
        int n = row.Length, block = 4 * Lanes, i = 0;
        for (; i <= n - block; i += block)
        {
            var a = Vector.LoadUnsafe(ref src, (nuint)i);
            var b = Vector.LoadUnsafe(ref src, (nuint)(i + Lanes));
            var c = Vector.LoadUnsafe(ref src, (nuint)(i + 2 * Lanes));
            var e = Vector.LoadUnsafe(ref src, (nuint)(i + 3 * Lanes));
            if (solar)
            {
                a = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(a, t), Vector<float>.One - a, a);
                b = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(b, t), Vector<float>.One - b, b);
                c = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(c, t), Vector<float>.One - c, c);
                e = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(e, t), Vector<float>.One - e, e);
            }
            Round(a, b, c, e).StoreUnsafe(ref d, (nuint)i);
        }
        for (; i < n; i++)
        {
            float v = Unsafe.Add(ref src, i);
            if (solar && v >= solarize) v = 1f - v;
            Unsafe.Add(ref d, i) = ToByte(v);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<byte> Round(Vector<float> a, Vector<float> b, Vector<float> c, Vector<float> d)
    {
        var scale = new Vector<float>(255f);
        var half = new Vector<float>(0.5f);
        // Signed conversions (AVX2 has no unsigned ones); the values are 0..255, so the narrowing keeps them.
        var lo = Vector.AsVectorUInt16(Vector.Narrow(Quantize(a, scale, half), Quantize(b, scale, half)));
        var hi = Vector.AsVectorUInt16(Vector.Narrow(Quantize(c, scale, half), Quantize(d, scale, half)));
        return Vector.Narrow(lo, hi);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<int> Quantize(Vector<float> v, Vector<float> scale, Vector<float> half) =>
        Vector.ConvertToInt32(Vector.Min(Vector.Max(v * scale + half, Vector<float>.Zero), scale));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte ToByte(float v) => (byte)Math.Clamp((int)(v * 255f + 0.5f), 0, 255);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Clamp01(Vector<float> v) => Vector.Min(Vector.Max(v, Vector<float>.Zero), Vector<float>.One);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Luma(Vector<float> r, Vector<float> g, Vector<float> b) =>
        new Vector<float>(LumaR) * r + new Vector<float>(LumaG) * g + new Vector<float>(LumaB) * b;
}
