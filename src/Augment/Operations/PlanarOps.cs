using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Contrastive.Augment;

/// <summary>
/// The view policies' working operations: SIMD (System.Numerics.Vector, 8 floats a vector on AVX2, with a scalar loop for
/// the remainder) on planar float RGB — three planes of width × height, R then G then B, values in [0, 1]. Each one
/// computes what its scalar reference does on float HWC (<see cref="Resample"/>, <see cref="ColorOps"/>,
/// <see cref="GaussianBlur"/>, <see cref="Layout"/>), which are checked against torchvision; tests hold the two together.
/// Float rather than uint8 working values: five chained 8-bit roundings (jitter in four steps, blur) drift from
/// torchvision's tensor semantics, and planes make every colour operation a straight vector loop.
/// </summary>
public static class PlanarOps
{
    private const float LumaR = ColorOps.LumaR, LumaG = ColorOps.LumaG, LumaB = ColorOps.LumaB;

    private static int Lanes => Vector<float>.Count;

    /// <summary>Reusable filter tables and row buffers; one per worker.</summary>
    public sealed class Scratch
    {
        internal int[] XStart = [], XCount = [], YStart = [], YCount = [];
        internal float[] XWeights = [], YWeights = [], Row = [], Pad = [];
        internal int[] Taps = [];
    }

    /// <summary>
    /// <see cref="Resample.CropResize"/> into planes: the crop of the uint8 HWC image, resized with the antialiased
    /// triangle filter. Vertical pass first (whole rows, vectorised, uint8 widened to float), then the horizontal pass
    /// (three channels a 4-lane vector) written into the planes.
    /// </summary>
    public static void CropResize(ReadOnlySpan<byte> src, int srcWidth, int srcHeight, int x0, int y0, int cropWidth, int cropHeight,
        Span<float> planes, int outWidth, int outHeight, Scratch scratch)
    {
        if (x0 < 0 || y0 < 0 || cropWidth < 1 || cropHeight < 1 || x0 + cropWidth > srcWidth || y0 + cropHeight > srcHeight)
            throw new ArgumentOutOfRangeException(nameof(x0), $"crop ({x0},{y0},{cropWidth}x{cropHeight}) is outside the {srcWidth}x{srcHeight} image");
        int plane = outWidth * outHeight;
        if (planes.Length < 3 * plane) throw new ArgumentException("destination too small", nameof(planes));
        if (src.Length < srcWidth * srcHeight * 3) throw new ArgumentException("source too small", nameof(src));

        int xMax = Resample.BuildFilter(cropWidth, outWidth, ref scratch.XStart, ref scratch.XCount, ref scratch.XWeights);
        int yMax = Resample.BuildFilter(cropHeight, outHeight, ref scratch.YStart, ref scratch.YCount, ref scratch.YWeights);

        int rowLen = cropWidth * 3;
        // One float of slack: the horizontal pass reads 4 floats at each pixel's R.
        if (scratch.Row.Length < rowLen + 4) scratch.Row = new float[rowLen + 4];
        var row = scratch.Row.AsSpan(0, rowLen + 4);
        row[rowLen..].Clear();
        ref float rowRef = ref MemoryMarshal.GetReference(row);
        ref byte srcRef = ref MemoryMarshal.GetReference(src);
        ref float outR = ref MemoryMarshal.GetReference(planes);
        ref float outG = ref Unsafe.Add(ref outR, plane);
        ref float outB = ref Unsafe.Add(ref outR, 2 * plane);
        int[] xStart = scratch.XStart, xCount = scratch.XCount;
        float[] xWeights = scratch.XWeights;
        const float inv255 = 1f / 255f;
        int byteLanes = Vector<byte>.Count;

        for (int oy = 0; oy < outHeight; oy++)
        {
            int start = scratch.YStart[oy], count = scratch.YCount[oy];
            // Vertical: the weighted sum of the tap rows, as floats in 0..255.
            for (int k = 0; k < count; k++)
            {
                float wk = scratch.YWeights[oy * yMax + k];
                var vw = new Vector<float>(wk);
                int offset = ((y0 + start + k) * srcWidth + x0) * 3;
                ref byte s = ref Unsafe.Add(ref srcRef, offset);
                int i = 0;
                for (; i <= rowLen - byteLanes; i += byteLanes)
                {
                    var bytes = Vector.LoadUnsafe(ref s, (nuint)i);
                    Vector.Widen(bytes, out Vector<ushort> lo16, out Vector<ushort> hi16);
                    Vector.Widen(lo16, out Vector<uint> a, out Vector<uint> b);
                    Vector.Widen(hi16, out Vector<uint> c, out Vector<uint> d);
                    Accumulate(ref rowRef, i, Vector.ConvertToSingle(a), vw, k);
                    Accumulate(ref rowRef, i + Lanes, Vector.ConvertToSingle(b), vw, k);
                    Accumulate(ref rowRef, i + 2 * Lanes, Vector.ConvertToSingle(c), vw, k);
                    Accumulate(ref rowRef, i + 3 * Lanes, Vector.ConvertToSingle(d), vw, k);
                }
                for (; i < rowLen; i++)
                {
                    float v = wk * Unsafe.Add(ref s, i);
                    Unsafe.Add(ref rowRef, i) = k == 0 ? v : Unsafe.Add(ref rowRef, i) + v;
                }
            }

            // Horizontal: each output pixel's taps, RGB (and one ignored lane) at once.
            int outRow = oy * outWidth;
            int ox = 0;
            for (; ox + 1 < outWidth; ox += 2)
            {
                // Two pixels side by side, independent sums.
                int xs0 = xStart[ox], xc0 = xCount[ox], xs1 = xStart[ox + 1], xc1 = xCount[ox + 1];
                var acc0 = Vector128<float>.Zero;
                var acc1 = Vector128<float>.Zero;
                int w0 = ox * xMax, w1 = w0 + xMax;
                int common = Math.Min(xc0, xc1);
                int k = 0;
                for (; k < common; k++)
                {
                    acc0 += Vector128.LoadUnsafe(ref rowRef, (nuint)((xs0 + k) * 3)) * Vector128.Create(xWeights[w0 + k]);
                    acc1 += Vector128.LoadUnsafe(ref rowRef, (nuint)((xs1 + k) * 3)) * Vector128.Create(xWeights[w1 + k]);
                }
                for (int k0 = k; k0 < xc0; k0++) acc0 += Vector128.LoadUnsafe(ref rowRef, (nuint)((xs0 + k0) * 3)) * Vector128.Create(xWeights[w0 + k0]);
                for (int k1 = k; k1 < xc1; k1++) acc1 += Vector128.LoadUnsafe(ref rowRef, (nuint)((xs1 + k1) * 3)) * Vector128.Create(xWeights[w1 + k1]);
                acc0 = Vector128.Min(Vector128.Max(acc0 * inv255, Vector128<float>.Zero), Vector128<float>.One);
                acc1 = Vector128.Min(Vector128.Max(acc1 * inv255, Vector128<float>.Zero), Vector128<float>.One);
                Unsafe.Add(ref outR, outRow + ox) = acc0.GetElement(0);
                Unsafe.Add(ref outG, outRow + ox) = acc0.GetElement(1);
                Unsafe.Add(ref outB, outRow + ox) = acc0.GetElement(2);
                Unsafe.Add(ref outR, outRow + ox + 1) = acc1.GetElement(0);
                Unsafe.Add(ref outG, outRow + ox + 1) = acc1.GetElement(1);
                Unsafe.Add(ref outB, outRow + ox + 1) = acc1.GetElement(2);
            }
            for (; ox < outWidth; ox++)
            {
                int xs = xStart[ox], xc = xCount[ox];
                var acc = Vector128<float>.Zero;
                int wBase = ox * xMax;
                for (int k = 0; k < xc; k++)
                    acc += Vector128.LoadUnsafe(ref rowRef, (nuint)((xs + k) * 3)) * Vector128.Create(xWeights[wBase + k]);
                acc = Vector128.Min(Vector128.Max(acc * inv255, Vector128<float>.Zero), Vector128<float>.One);
                Unsafe.Add(ref outR, outRow + ox) = acc.GetElement(0);
                Unsafe.Add(ref outG, outRow + ox) = acc.GetElement(1);
                Unsafe.Add(ref outB, outRow + ox) = acc.GetElement(2);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Accumulate(ref float row, int i, Vector<float> values, Vector<float> weight, int tap)
    {
        var v = values * weight;
        if (tap != 0) v += Vector.LoadUnsafe(ref row, (nuint)i);
        v.StoreUnsafe(ref row, (nuint)i);
    }

    /// <summary>Mirrors each row of each plane.</summary>
    public static void FlipHorizontal(Span<float> planes, int width, int height)
    {
        for (int r = 0; r < 3 * height; r++) planes.Slice(r * width, width).Reverse();
    }

    public static void Brightness(Span<float> planes, float factor) => Affine(planes, factor, 0f);

    /// <summary>Blends with the mean luma of the image (<see cref="ColorOps.Contrast"/>).</summary>
    public static void Contrast(Span<float> planes, int pixels, float factor)
    {
        double sum = LumaR * (double)Sum(planes[..pixels]) + LumaG * (double)Sum(planes.Slice(pixels, pixels)) + LumaB * (double)Sum(planes.Slice(2 * pixels, pixels));
        float mean = (float)(sum / pixels);
        Affine(planes[..(3 * pixels)], factor, (1 - factor) * mean);
    }

    /// <summary>v ← clamp(factor · v + bias, 0, 1).</summary>
    private static void Affine(Span<float> values, float factor, float bias)
    {
        ref float p = ref MemoryMarshal.GetReference(values);
        var vf = new Vector<float>(factor);
        var vb = new Vector<float>(bias);
        int i = 0;
        for (; i <= values.Length - Lanes; i += Lanes)
            Vector.Min(Vector.Max(Vector.LoadUnsafe(ref p, (nuint)i) * vf + vb, Vector<float>.Zero), Vector<float>.One).StoreUnsafe(ref p, (nuint)i);
        for (; i < values.Length; i++) Unsafe.Add(ref p, i) = Math.Clamp(factor * Unsafe.Add(ref p, i) + bias, 0f, 1f);
    }

    private static float Sum(ReadOnlySpan<float> values)
    {
        ref float p = ref MemoryMarshal.GetReference(values);
        var acc = Vector<float>.Zero;
        int i = 0;
        for (; i <= values.Length - Lanes; i += Lanes) acc += Vector.LoadUnsafe(ref p, (nuint)i);
        float sum = Vector.Sum(acc);
        for (; i < values.Length; i++) sum += Unsafe.Add(ref p, i);
        return sum;
    }

    /// <summary>Blends each pixel with its own luma (<see cref="ColorOps.Saturation"/>).</summary>
    public static void Saturation(Span<float> planes, int pixels, float factor)
    {
        CheckPlanes(planes, pixels);
        ref float r = ref MemoryMarshal.GetReference(planes);
        ref float g = ref Unsafe.Add(ref r, pixels);
        ref float b = ref Unsafe.Add(ref r, 2 * pixels);
        var vf = new Vector<float>(factor);
        var vk = new Vector<float>(1 - factor);
        int i = 0;
        for (; i <= pixels - Lanes; i += Lanes)
        {
            var (vr, vg, vb) = Load(ref r, ref g, ref b, i);
            var gray = vk * Luma(vr, vg, vb);
            Clamp01(vf * vr + gray).StoreUnsafe(ref r, (nuint)i);
            Clamp01(vf * vg + gray).StoreUnsafe(ref g, (nuint)i);
            Clamp01(vf * vb + gray).StoreUnsafe(ref b, (nuint)i);
        }
        for (; i < pixels; i++)
        {
            float gray = (1 - factor) * (LumaR * Unsafe.Add(ref r, i) + LumaG * Unsafe.Add(ref g, i) + LumaB * Unsafe.Add(ref b, i));
            Unsafe.Add(ref r, i) = Math.Clamp(factor * Unsafe.Add(ref r, i) + gray, 0f, 1f);
            Unsafe.Add(ref g, i) = Math.Clamp(factor * Unsafe.Add(ref g, i) + gray, 0f, 1f);
            Unsafe.Add(ref b, i) = Math.Clamp(factor * Unsafe.Add(ref b, i) + gray, 0f, 1f);
        }
    }

    /// <summary>Every channel becomes the pixel's luma (<see cref="ColorOps.Grayscale"/>).</summary>
    public static void Grayscale(Span<float> planes, int pixels)
    {
        CheckPlanes(planes, pixels);
        ref float r = ref MemoryMarshal.GetReference(planes);
        ref float g = ref Unsafe.Add(ref r, pixels);
        ref float b = ref Unsafe.Add(ref r, 2 * pixels);
        int i = 0;
        for (; i <= pixels - Lanes; i += Lanes)
        {
            var (vr, vg, vb) = Load(ref r, ref g, ref b, i);
            var y = Luma(vr, vg, vb);
            y.StoreUnsafe(ref r, (nuint)i);
            y.StoreUnsafe(ref g, (nuint)i);
            y.StoreUnsafe(ref b, (nuint)i);
        }
        for (; i < pixels; i++)
            Unsafe.Add(ref r, i) = Unsafe.Add(ref g, i) = Unsafe.Add(ref b, i) = LumaR * Unsafe.Add(ref r, i) + LumaG * Unsafe.Add(ref g, i) + LumaB * Unsafe.Add(ref b, i);
    }

    /// <summary>Values at or above <paramref name="threshold"/> become 1 − v (<see cref="ColorOps.Solarize"/>).</summary>
    public static void Solarize(Span<float> planes, float threshold)
    {
        ref float p = ref MemoryMarshal.GetReference(planes);
        var t = new Vector<float>(threshold);
        int i = 0;
        for (; i <= planes.Length - Lanes; i += Lanes)
        {
            var v = Vector.LoadUnsafe(ref p, (nuint)i);
            Vector.ConditionalSelect(Vector.GreaterThanOrEqual(v, t), Vector<float>.One - v, v).StoreUnsafe(ref p, (nuint)i);
        }
        for (; i < planes.Length; i++) if (Unsafe.Add(ref p, i) >= threshold) Unsafe.Add(ref p, i) = 1f - Unsafe.Add(ref p, i);
    }

    /// <summary>
    /// Rotates hue by <paramref name="shift"/> turns in HSV space, with the same arithmetic as <see cref="ColorOps.Hue"/>
    /// (torchvision's _rgb2hsv / _hsv2rgb): every sector computed, the pixel's selected by masks; grays unchanged.
    /// </summary>
    public static void Hue(Span<float> planes, int pixels, float shift)
    {
        CheckPlanes(planes, pixels);
        ref float r = ref MemoryMarshal.GetReference(planes);
        ref float g = ref Unsafe.Add(ref r, pixels);
        ref float b = ref Unsafe.Add(ref r, 2 * pixels);
        var vShift = new Vector<float>(shift);
        var one = Vector<float>.One;
        var two = new Vector<float>(2f);
        var four = new Vector<float>(4f);
        var six = new Vector<float>(6f);
        var s1 = one;
        var s2 = two;
        var s3 = new Vector<float>(3f);
        var s4 = four;
        int i = 0;
        for (; i <= pixels - Lanes; i += Lanes)
        {
            var (vr, vg, vb) = Load(ref r, ref g, ref b, i);
            var max = Vector.Max(vr, Vector.Max(vg, vb));
            var min = Vector.Min(vr, Vector.Min(vg, vb));
            var delta = max - min;
            var chromatic = Vector.GreaterThan(delta, Vector<float>.Zero);
            if (chromatic == Vector<int>.Zero) continue;
            var d = Vector.ConditionalSelect(chromatic, delta, one);
            var h = Vector.ConditionalSelect(Vector.Equals(max, vr), (vg - vb) / d,
                Vector.ConditionalSelect(Vector.Equals(max, vg), two + (vb - vr) / d, four + (vr - vg) / d));
            h = h / six + vShift;
            h -= Vector.Floor(h);
            var v = max;
            var s = delta / Vector.ConditionalSelect(chromatic, max, one);
            var h6 = h * six;
            var sector = Vector.Floor(h6);
            sector = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(sector, six), sector - six, sector);
            var f = h6 - Vector.Floor(h6);
            var p = v * (one - s);
            var q = v * (one - s * f);
            var t = v * (one - s * (one - f));
            var is0 = Vector.LessThan(sector, s1);
            var is1 = Vector.Equals(sector, s1);
            var is2 = Vector.Equals(sector, s2);
            var is3 = Vector.Equals(sector, s3);
            var is4 = Vector.Equals(sector, s4);
            // sector: 0 (v,t,p) 1 (q,v,p) 2 (p,v,t) 3 (p,q,v) 4 (t,p,v) 5 (v,p,q)
            var nr = Select(is0, v, Select(is1, q, Select(is2, p, Select(is3, p, Select(is4, t, v)))));
            var ng = Select(is0, t, Select(is1, v, Select(is2, v, Select(is3, q, Select(is4, p, p)))));
            var nb = Select(is0, p, Select(is1, p, Select(is2, t, Select(is3, v, Select(is4, v, q)))));
            Vector.ConditionalSelect(chromatic, nr, vr).StoreUnsafe(ref r, (nuint)i);
            Vector.ConditionalSelect(chromatic, ng, vg).StoreUnsafe(ref g, (nuint)i);
            Vector.ConditionalSelect(chromatic, nb, vb).StoreUnsafe(ref b, (nuint)i);
        }
        if (i < pixels)
        {
            // The remainder through the reference, a pixel at a time.
            Span<float> rgb = stackalloc float[3];
            for (; i < pixels; i++)
            {
                rgb[0] = Unsafe.Add(ref r, i); rgb[1] = Unsafe.Add(ref g, i); rgb[2] = Unsafe.Add(ref b, i);
                ColorOps.Hue(rgb, shift);
                Unsafe.Add(ref r, i) = rgb[0]; Unsafe.Add(ref g, i) = rgb[1]; Unsafe.Add(ref b, i) = rgb[2];
            }
        }
    }

    /// <summary>
    /// Separable Gaussian blur with reflect padding (<see cref="GaussianBlur.Apply"/>): rows into <paramref name="temp"/>
    /// (3 × width × height floats), then columns back. The taps are summed in the reference's order.
    /// </summary>
    public static void Blur(Span<float> planes, int width, int height, ReadOnlySpan<float> kernel, Span<float> temp, Scratch scratch)
    {
        int taps = kernel.Length, radius = taps / 2;
        int plane = width * height;
        if (temp.Length < 3 * plane) throw new ArgumentException("scratch too small", nameof(temp));
        int padLen = width + 2 * radius;
        if (scratch.Pad.Length < padLen) scratch.Pad = new float[padLen];
        if (scratch.Taps.Length < taps) scratch.Taps = new int[taps];
        var offsets = scratch.Taps.AsSpan(0, taps);
        ref float pad = ref MemoryMarshal.GetArrayDataReference(scratch.Pad);

        // Horizontal: each row reflected into the pad, whose tap k for output x is at x + k.
        for (int k = 0; k < taps; k++) offsets[k] = k;
        for (int row = 0; row < 3 * height; row++)
        {
            var src = planes.Slice(row * width, width);
            src.CopyTo(scratch.Pad.AsSpan(radius, width));
            for (int x = 0; x < radius; x++)
            {
                Unsafe.Add(ref pad, x) = src[GaussianBlur.Reflect(x - radius, width)];
                Unsafe.Add(ref pad, radius + width + x) = src[GaussianBlur.Reflect(width + x, width)];
            }
            WeightedSum(ref pad, offsets, kernel, temp.Slice(row * width, width));
        }

        // Vertical: tap k of output row y is the reflected row y + k − radius.
        for (int c = 0; c < 3; c++)
        {
            ref float tp = ref MemoryMarshal.GetReference(temp.Slice(c * plane, plane));
            for (int y = 0; y < height; y++)
            {
                for (int k = 0; k < taps; k++) offsets[k] = GaussianBlur.Reflect(y + k - radius, height) * width;
                WeightedSum(ref tp, offsets, kernel, planes.Slice(c * plane + y * width, width));
            }
        }
    }

    /// <summary>
    /// dst[i] = Σₖ kernel[k] · src[offsets[k] + i], the taps summed in order; four vectors of outputs at a time, so that
    /// their sums proceed side by side instead of each waiting on its previous tap.
    /// </summary>
    private static void WeightedSum(ref float src, ReadOnlySpan<int> offsets, ReadOnlySpan<float> kernel, Span<float> dst)
    {
        int taps = kernel.Length, width = dst.Length;
        ref float k0 = ref MemoryMarshal.GetReference(kernel);
        ref int o0 = ref MemoryMarshal.GetReference(offsets);
        ref float d = ref MemoryMarshal.GetReference(dst);
        int i = 0;
        for (; i <= width - 4 * Lanes; i += 4 * Lanes)
        {
            Vector<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (int k = 0; k < taps; k++)
            {
                var w = new Vector<float>(Unsafe.Add(ref k0, k));
                ref float at = ref Unsafe.Add(ref src, Unsafe.Add(ref o0, k) + i);
                a0 += w * Vector.LoadUnsafe(ref at);
                a1 += w * Vector.LoadUnsafe(ref at, (nuint)Lanes);
                a2 += w * Vector.LoadUnsafe(ref at, (nuint)(2 * Lanes));
                a3 += w * Vector.LoadUnsafe(ref at, (nuint)(3 * Lanes));
            }
            a0.StoreUnsafe(ref d, (nuint)i);
            a1.StoreUnsafe(ref d, (nuint)(i + Lanes));
            a2.StoreUnsafe(ref d, (nuint)(i + 2 * Lanes));
            a3.StoreUnsafe(ref d, (nuint)(i + 3 * Lanes));
        }
        for (; i <= width - Lanes; i += Lanes)
        {
            var acc = Vector<float>.Zero;
            for (int k = 0; k < taps; k++) acc += new Vector<float>(Unsafe.Add(ref k0, k)) * Vector.LoadUnsafe(ref src, (nuint)(Unsafe.Add(ref o0, k) + i));
            acc.StoreUnsafe(ref d, (nuint)i);
        }
        for (; i < width; i++)
        {
            float acc = 0;
            for (int k = 0; k < taps; k++) acc += Unsafe.Add(ref k0, k) * Unsafe.Add(ref src, Unsafe.Add(ref o0, k) + i);
            Unsafe.Add(ref d, i) = acc;
        }
    }

    /// <summary>Planes to uint8 CHW, rounding as <see cref="Layout.ToChwBytes"/> does (clamp(⌊255 v + 0.5⌋, 0, 255)).</summary>
    public static void ToBytes(ReadOnlySpan<float> planes, Span<byte> chw)
    {
        int n = planes.Length;
        if (chw.Length < n) throw new ArgumentException("destination too small", nameof(chw));
        ref float src = ref MemoryMarshal.GetReference(planes);
        ref byte dst = ref MemoryMarshal.GetReference(chw);
        var scale = new Vector<float>(255f);
        var half = new Vector<float>(0.5f);
        var top = new Vector<float>(255f);
        int i = 0;
        int step = Vector<byte>.Count; // four float vectors narrow to one byte vector
        for (; i <= n - step; i += step)
        {
            var a = Quantize(Vector.LoadUnsafe(ref src, (nuint)i), scale, half, top);
            var b = Quantize(Vector.LoadUnsafe(ref src, (nuint)(i + Lanes)), scale, half, top);
            var c = Quantize(Vector.LoadUnsafe(ref src, (nuint)(i + 2 * Lanes)), scale, half, top);
            var d = Quantize(Vector.LoadUnsafe(ref src, (nuint)(i + 3 * Lanes)), scale, half, top);
            var lo = Vector.Narrow(a, b);
            var hi = Vector.Narrow(c, d);
            Vector.Narrow(lo, hi).StoreUnsafe(ref dst, (nuint)i);
        }
        for (; i < n; i++) Unsafe.Add(ref dst, i) = (byte)Math.Clamp((int)(Unsafe.Add(ref src, i) * 255f + 0.5f), 0, 255);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<uint> Quantize(Vector<float> v, Vector<float> scale, Vector<float> half, Vector<float> top) =>
        Vector.ConvertToUInt32(Vector.Min(Vector.Max(v * scale + half, Vector<float>.Zero), top));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Select(Vector<int> mask, Vector<float> a, Vector<float> b) => Vector.ConditionalSelect(mask, a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Clamp01(Vector<float> v) => Vector.Min(Vector.Max(v, Vector<float>.Zero), Vector<float>.One);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Luma(Vector<float> r, Vector<float> g, Vector<float> b) =>
        new Vector<float>(LumaR) * r + new Vector<float>(LumaG) * g + new Vector<float>(LumaB) * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector<float>, Vector<float>, Vector<float>) Load(ref float r, ref float g, ref float b, int i) =>
        (Vector.LoadUnsafe(ref r, (nuint)i), Vector.LoadUnsafe(ref g, (nuint)i), Vector.LoadUnsafe(ref b, (nuint)i));

    private static void CheckPlanes(Span<float> planes, int pixels)
    {
        if (planes.Length < 3 * pixels) throw new ArgumentException("fewer than three planes of the given size", nameof(planes));
    }
}
