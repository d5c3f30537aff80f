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
/// solarize and the rounding to uint8 CHW are applied chunk by chunk (the chunk stays in the L1 cache through all of
/// them) instead of in one pass over the planes each; every step is <see cref="PlanarOps"/>' own operation on the chunk,
/// so a pixel comes out as the chain of <see cref="PlanarOps"/> calls makes it. Contrast needs the mean luma after the
/// steps before it: a first pass applies those steps and sums, the second applies the rest. The Gaussian blur, which
/// needs its neighbours, reads the planes the colour pass wrote and rounds its own output into the bytes.
/// </summary>
internal static class ViewPass
{
    private const float LumaR = ColorOps.LumaR, LumaG = ColorOps.LumaG, LumaB = ColorOps.LumaB;

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
                sumR += PlanarOps.Sum(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref r, i), n));
                sumG += PlanarOps.Sum(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref g, i), n));
                sumB += PlanarOps.Sum(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref b, i), n));
            }
            float factor = steps[contrastAt].Factor;
            bias = (1 - factor) * (float)((LumaR * sumR + LumaG * sumG + LumaB * sumB) / pixels);
            after = steps[contrastAt..];
        }

        for (int i = 0; i < pixels; i += Chunk)
        {
            int n = Math.Min(Chunk, pixels - i);
            ref float cr = ref Unsafe.Add(ref r, i);
            ref float cg = ref Unsafe.Add(ref g, i);
            ref float cb = ref Unsafe.Add(ref b, i);
            foreach (var step in after) Apply(ref cr, ref cg, ref cb, n, step, bias);
            if (grayscale) PlanarOps.Grayscale(ref cr, ref cg, ref cb, n);
            if (toBytes)
            {
                PlanarOps.ToBytes(MemoryMarshal.CreateReadOnlySpan(ref cr, n), chw.Slice(i, n), solarize);
                PlanarOps.ToBytes(MemoryMarshal.CreateReadOnlySpan(ref cg, n), chw.Slice(pixels + i, n), solarize);
                PlanarOps.ToBytes(MemoryMarshal.CreateReadOnlySpan(ref cb, n), chw.Slice(2 * pixels + i, n), solarize);
            }
            else if (!float.IsNaN(solarize))
            {
                PlanarOps.Solarize(MemoryMarshal.CreateSpan(ref cr, n), solarize);
                PlanarOps.Solarize(MemoryMarshal.CreateSpan(ref cg, n), solarize);
                PlanarOps.Solarize(MemoryMarshal.CreateSpan(ref cb, n), solarize);
            }
        }
    }

    /// <summary>One step on <paramref name="n"/> pixels of the three planes, with <see cref="PlanarOps"/>' arithmetic.</summary>
    private static void Apply(ref float r, ref float g, ref float b, int n, ColourStep step, float bias)
    {
        switch (step.Op)
        {
            case ColourOp.Brightness:
            case ColourOp.Contrast:
                // clamp(f · v + bias), with contrast's bias; brightness is the same with none.
                float add = step.Op == ColourOp.Contrast ? bias : 0f;
                PlanarOps.Affine(MemoryMarshal.CreateSpan(ref r, n), step.Factor, add);
                PlanarOps.Affine(MemoryMarshal.CreateSpan(ref g, n), step.Factor, add);
                PlanarOps.Affine(MemoryMarshal.CreateSpan(ref b, n), step.Factor, add);
                break;
            case ColourOp.Saturation:
                PlanarOps.Saturation(ref r, ref g, ref b, n, step.Factor);
                break;
            default:
                PlanarOps.Hue(ref r, ref g, ref b, n, step.Factor);
                break;
        }
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
        PlanarOps.PrepareRowBlur(scratch, width, taps);
        if (scratch.Out.Length < width) scratch.Out = new float[width];
        if (scratch.BlurRing.Length < taps * width) scratch.BlurRing = new float[taps * width];
        if (scratch.BlurRingRow.Length < taps) scratch.BlurRingRow = new int[taps];
        var offsets = scratch.Taps.AsSpan(0, taps);
        var row = scratch.Out.AsSpan(0, width);
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
                    PlanarOps.BlurRow(channel.Slice(source * width, width), kernel, scratch, MemoryMarshal.CreateSpan(ref Unsafe.Add(ref ring, slot * width), width));
                }
                PlanarOps.WeightedSum(ref ring, offsets, kernel, row);
                PlanarOps.ToBytes(row, chw.Slice(c * plane + y * width, width), solarize);
            }
        }
    }
}
