using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Contrastive.Augment;

/// <summary>
/// The view policies' working operations: SIMD (System.Numerics.Vector, 8 floats a vector on AVX2, with a scalar loop for
/// the remainder; the resize's horizontal pass with AVX + FMA or AVX-512 where the CPU has them) on planar float RGB —
/// three planes of width × height, R then G then B, values in [0, 1]. <see cref="ViewPass"/> chains them into a view's
/// few passes; one pass each, they are what the passes are tested against. Each one
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
        internal float[] PairWeights = [], Converted = [], BlockWeights = [], BlurRing = [];
        internal int[] RingRow = [], BlockIndex = [], BlockBase = [], BlockTaps = [], RowTaps = [], BlurRingRow = [], SlotOf = [];
        internal int[] PairCount = [];
        internal int[] Taps = [];
        internal float[] Out = [];
    }

    /// <summary>
    /// <see cref="Resample.CropResize"/> into planes: the crop of the uint8 HWC image, resized with the antialiased
    /// triangle filter. Vertical pass first (each crop row converted to floats once, into a ring; whole rows summed,
    /// vectorised), then the horizontal pass into the planes: 16 columns a block by permutes on AVX-512, else eight
    /// columns in 256-bit pairs on AVX + FMA, else a pixel at a time (three channels a 4-lane vector); the same fused
    /// multiply-adds in the same order on every path.
    /// </summary>
    public static void CropResize(ReadOnlySpan<byte> src, int srcWidth, int srcHeight, int x0, int y0, int cropWidth, int cropHeight,
        Span<float> planes, int outWidth, int outHeight, Scratch scratch) =>
        CropResize(src, srcWidth, srcHeight, x0, y0, cropWidth, cropHeight, planes, outWidth, outHeight, scratch, flip: false);

    /// <summary>
    /// <see cref="CropResize(ReadOnlySpan{byte}, int, int, int, int, int, int, Span{float}, int, int, Scratch)"/>, mirrored
    /// when <paramref name="flip"/> is true: output column x gets column W − 1 − x's filter, which is
    /// <see cref="FlipHorizontal"/> of the unflipped result, pixel for pixel, without a pass of its own.
    /// </summary>
    internal static void CropResize(ReadOnlySpan<byte> src, int srcWidth, int srcHeight, int x0, int y0, int cropWidth, int cropHeight,
        Span<float> planes, int outWidth, int outHeight, Scratch scratch, bool flip)
    {
        if (x0 < 0 || y0 < 0 || cropWidth < 1 || cropHeight < 1 || x0 + cropWidth > srcWidth || y0 + cropHeight > srcHeight)
            throw new ArgumentOutOfRangeException(nameof(x0), $"crop ({x0},{y0},{cropWidth}x{cropHeight}) is outside the {srcWidth}x{srcHeight} image");
        int plane = outWidth * outHeight;
        if (planes.Length < 3 * plane) throw new ArgumentException("destination too small", nameof(planes));
        if (src.Length < srcWidth * srcHeight * 3) throw new ArgumentException("source too small", nameof(src));

        int xMax = Resample.BuildFilter(cropWidth, outWidth, ref scratch.XStart, ref scratch.XCount, ref scratch.XWeights);
        if (flip) MirrorFilter(scratch, outWidth, xMax);
        int yMax = Resample.BuildFilter(cropHeight, outHeight, ref scratch.YStart, ref scratch.YCount, ref scratch.YWeights);
        if (PlanarResize && outWidth >= 16 && BuildBlocks(scratch, outWidth, xMax))
        {
            CropResizePlanar(src, srcWidth, x0, y0, cropWidth, planes, outWidth, outHeight, scratch, xMax, yMax);
            PlanarCrops++;
            return;
        }

        int rowLen = cropWidth * 3;
        // Slack: the horizontal pass reads 4 floats at each pixel's R, and the paired pass up to xMax pixels past a
        // pixel's last tap (with weight 0: the slack is zeros).
        int slack = 3 * xMax + 4;
        if (scratch.Row.Length < rowLen + slack) scratch.Row = new float[rowLen + slack];
        var row = scratch.Row.AsSpan(0, rowLen + slack);
        bool paired = Avx.IsSupported && Fma.IsSupported && outWidth >= 8;
        if (paired) BuildPairs(scratch, outWidth, xMax);
        row[rowLen..].Clear();
        ref float rowRef = ref MemoryMarshal.GetReference(row);
        ref byte srcRef = ref MemoryMarshal.GetReference(src);
        ref float outR = ref MemoryMarshal.GetReference(planes);
        ref float outG = ref Unsafe.Add(ref outR, plane);
        ref float outB = ref Unsafe.Add(ref outR, 2 * plane);
        int[] xStart = scratch.XStart, xCount = scratch.XCount;
        float[] xWeights = scratch.XWeights;
        const float inv255 = 1f / 255f;

        var rowOut = row[..rowLen];
        PrepareRing(scratch, yMax, rowLen);

        for (int oy = 0; oy < outHeight; oy++)
        {
            VerticalRow(ref srcRef, srcWidth, x0, y0, cropWidth, 0, oy, yMax, rowLen, scratch, rowOut);

            // Horizontal: each output pixel's taps, RGB (and one ignored lane) at once.
            int outRow = oy * outWidth;
            int ox = paired ? HorizontalPaired(ref rowRef, scratch, outWidth, xMax, ref Unsafe.Add(ref outR, outRow), ref Unsafe.Add(ref outG, outRow), ref Unsafe.Add(ref outB, outRow)) : 0;
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
                    acc0 = Vector128.FusedMultiplyAdd(Vector128.LoadUnsafe(ref rowRef, (nuint)((xs0 + k) * 3)), Vector128.Create(xWeights[w0 + k]), acc0);
                    acc1 = Vector128.FusedMultiplyAdd(Vector128.LoadUnsafe(ref rowRef, (nuint)((xs1 + k) * 3)), Vector128.Create(xWeights[w1 + k]), acc1);
                }
                for (int k0 = k; k0 < xc0; k0++) acc0 = Vector128.FusedMultiplyAdd(Vector128.LoadUnsafe(ref rowRef, (nuint)((xs0 + k0) * 3)), Vector128.Create(xWeights[w0 + k0]), acc0);
                for (int k1 = k; k1 < xc1; k1++) acc1 = Vector128.FusedMultiplyAdd(Vector128.LoadUnsafe(ref rowRef, (nuint)((xs1 + k1) * 3)), Vector128.Create(xWeights[w1 + k1]), acc1);
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
                    acc = Vector128.FusedMultiplyAdd(Vector128.LoadUnsafe(ref rowRef, (nuint)((xs + k) * 3)), Vector128.Create(xWeights[wBase + k]), acc);
                acc = Vector128.Min(Vector128.Max(acc * inv255, Vector128<float>.Zero), Vector128<float>.One);
                Unsafe.Add(ref outR, outRow + ox) = acc.GetElement(0);
                Unsafe.Add(ref outG, outRow + ox) = acc.GetElement(1);
                Unsafe.Add(ref outB, outRow + ox) = acc.GetElement(2);
            }
        }
    }

    /// <summary>
    /// Whether <see cref="CropResize(ReadOnlySpan{byte}, int, int, int, int, int, int, Span{float}, int, int, Scratch, bool)"/>
    /// may take its AVX-512 path (the CPU has AVX-512 F and VBMI): the crop's rows converted into planes, each output row's
    /// channels resized 16 columns at a time by permutes of a 32-float window. The results are the same bits as the other
    /// path's (the same fused multiply-adds in the same order); tests turn it off on their thread
    /// (<see cref="InterleavedOnly"/>) to hold the two together.
    /// </summary>
    internal static bool PlanarResize => PlanarResizeSupported && !InterleavedOnly;

    internal static readonly bool PlanarResizeSupported = Avx512F.IsSupported && Avx512Vbmi.IsSupported && Vector512.IsHardwareAccelerated;

    /// <summary>For tests: this thread's crops take the interleaved path.</summary>
    [ThreadStatic]
    internal static bool InterleavedOnly;

    /// <summary>For tests: the crops this thread resized on the AVX-512 path.</summary>
    [ThreadStatic]
    internal static int PlanarCrops;

    /// <summary>Floats after each converted channel row: a 16-column block reads 32 floats from its first tap on.</summary>
    private const int WindowPad = 32;

    /// <summary>
    /// The AVX-512 path's tables: output columns in blocks of 16; a block reads the 32 floats from its lowest first tap
    /// (BlockBase), tap k of lane j being element BlockIndex[(b · xMax + k) · 16 + j] of that window with weight
    /// BlockWeights[same] (0 past the column's own taps). False, and no tables, when some block's taps span more than 32
    /// columns (crops reduced about 1.8× or more): the other path does those.
    /// </summary>
    private static bool BuildBlocks(Scratch scratch, int outWidth, int xMax)
    {
        int blocks = outWidth / 16;
        int[] xs = scratch.XStart, xc = scratch.XCount;
        for (int b = 0; b < blocks; b++)
        {
            int lo = int.MaxValue, hi = 0;
            for (int j = 0; j < 16; j++)
            {
                int x = b * 16 + j;
                lo = Math.Min(lo, xs[x]);
                hi = Math.Max(hi, xs[x] + xc[x]);
            }
            if (hi - lo > 32) return false;
        }
        int need = blocks * xMax * 16;
        if (scratch.BlockIndex.Length < need) { scratch.BlockIndex = new int[need]; scratch.BlockWeights = new float[need]; }
        if (scratch.BlockBase.Length < blocks) { scratch.BlockBase = new int[blocks]; scratch.BlockTaps = new int[blocks]; }
        for (int b = 0; b < blocks; b++)
        {
            int lo = int.MaxValue, taps = 0;
            for (int j = 0; j < 16; j++)
            {
                lo = Math.Min(lo, xs[b * 16 + j]);
                taps = Math.Max(taps, xc[b * 16 + j]);
            }
            scratch.BlockBase[b] = lo;
            scratch.BlockTaps[b] = taps;
            for (int k = 0; k < taps; k++)
            {
                for (int j = 0; j < 16; j++)
                {
                    int x = b * 16 + j, at = (b * xMax + k) * 16 + j;
                    bool tap = k < xc[x];
                    scratch.BlockIndex[at] = tap ? xs[x] + k - lo : 0;
                    scratch.BlockWeights[at] = tap ? scratch.XWeights[x * xMax + k] : 0f;
                }
            }
        }
        return true;
    }

    /// <summary>
    /// The AVX-512 path: each crop row converted once (bytes deinterleaved by one byte permute, widened to floats) into a
    /// ring of planar rows (R, G, B, each followed by <see cref="WindowPad"/> zeros); the vertical pass over whole ring
    /// rows; the horizontal pass per channel, 16 output columns a block: the block's 32-float window in two registers, a
    /// permute and a fused multiply-add per tap. Columns past the last whole block go one at a time, in the same order.
    /// </summary>
    private static void CropResizePlanar(ReadOnlySpan<byte> src, int srcWidth, int x0, int y0, int cropWidth, Span<float> planes,
        int outWidth, int outHeight, Scratch scratch, int xMax, int yMax)
    {
        int stride = cropWidth + WindowPad, rowLen = 3 * stride, plane = outWidth * outHeight;
        PrepareRing(scratch, yMax, rowLen);
        if (scratch.Row.Length < rowLen) scratch.Row = new float[rowLen];
        var rowOut = scratch.Row.AsSpan(0, rowLen);
        ref float row = ref MemoryMarshal.GetReference(rowOut);
        ref byte srcRef = ref MemoryMarshal.GetReference(src);
        ref float outRef = ref MemoryMarshal.GetReference(planes);
        int blocks = outWidth / 16;

        for (int oy = 0; oy < outHeight; oy++)
        {
            VerticalRow(ref srcRef, srcWidth, x0, y0, cropWidth, stride, oy, yMax, rowLen, scratch, rowOut);

            for (int c = 0; c < 3; c++)
            {
                ref float input = ref Unsafe.Add(ref row, c * stride);
                ref float output = ref Unsafe.Add(ref outRef, c * plane + oy * outWidth);
                HorizontalBlocks(ref input, ref output, scratch, blocks, xMax);
                for (int ox = blocks * 16; ox < outWidth; ox++)
                {
                    int xs = scratch.XStart[ox], n = scratch.XCount[ox];
                    float acc = 0;
                    for (int k = 0; k < n; k++) acc = MathF.FusedMultiplyAdd(Unsafe.Add(ref input, xs + k), scratch.XWeights[ox * xMax + k], acc);
                    Unsafe.Add(ref output, ox) = Math.Clamp(acc * (1f / 255f), 0f, 1f);
                }
            }
        }
    }

    private static void HorizontalBlocks(ref float input, ref float output, Scratch scratch, int blocks, int xMax)
    {
        ref int index = ref MemoryMarshal.GetArrayDataReference(scratch.BlockIndex);
        ref float weights = ref MemoryMarshal.GetArrayDataReference(scratch.BlockWeights);
        var scale = Vector512.Create(1f / 255f);
        for (int b = 0; b < blocks; b++)
        {
            ref float window = ref Unsafe.Add(ref input, scratch.BlockBase[b]);
            var lo = Vector512.LoadUnsafe(ref window);
            var hi = Vector512.LoadUnsafe(ref window, 16);
            var acc = Vector512<float>.Zero;
            int taps = scratch.BlockTaps[b], at = b * xMax * 16;
            for (int k = 0; k < taps; k++, at += 16)
            {
                var picked = Avx512F.PermuteVar16x32x2(lo, Vector512.LoadUnsafe(ref index, (nuint)at), hi);
                acc = Vector512.FusedMultiplyAdd(picked, Vector512.LoadUnsafe(ref weights, (nuint)at), acc);
            }
            Vector512.Min(Vector512.Max(acc * scale, Vector512<float>.Zero), Vector512<float>.One).StoreUnsafe(ref output, (nuint)(b * 16));
        }
    }

    /// <summary>Byte positions of 16 RGB pixels' reds, then greens, then blues (the last 16 unused).</summary>
    private static readonly byte[] Deinterleave = Enumerable.Range(0, 64).Select(i => (byte)(i < 48 ? (i % 16) * 3 + i / 16 : 0)).ToArray();

    /// <summary>
    /// <paramref name="width"/> RGB pixels into three float rows <paramref name="stride"/> apart, each followed by zeros up to
    /// the stride.
    /// </summary>
    private static void ToPlanarFloats(ref byte src, ref float dst, int width, int stride)
    {
        var order = Vector512.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(Deinterleave));
        ref float r = ref dst;
        ref float g = ref Unsafe.Add(ref dst, stride);
        ref float b = ref Unsafe.Add(ref dst, 2 * stride);
        int x = 0;
        // 64 bytes are read for 16 pixels (48 bytes): stop while 64 bytes from the pixel are still inside the row.
        for (; 3 * x + 64 <= 3 * width; x += 16)
        {
            var bytes = Avx512Vbmi.PermuteVar64x8(Vector512.LoadUnsafe(ref src, (nuint)(3 * x)), order);
            Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(bytes.GetLower().GetLower())).StoreUnsafe(ref r, (nuint)x);
            Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(bytes.GetLower().GetUpper())).StoreUnsafe(ref g, (nuint)x);
            Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(bytes.GetUpper().GetLower())).StoreUnsafe(ref b, (nuint)x);
        }
        for (; x < width; x++)
        {
            Unsafe.Add(ref r, x) = Unsafe.Add(ref src, 3 * x);
            Unsafe.Add(ref g, x) = Unsafe.Add(ref src, 3 * x + 1);
            Unsafe.Add(ref b, x) = Unsafe.Add(ref src, 3 * x + 2);
        }
        int pad = stride - width;
        MemoryMarshal.CreateSpan(ref Unsafe.Add(ref r, width), pad).Clear();
        MemoryMarshal.CreateSpan(ref Unsafe.Add(ref g, width), pad).Clear();
        MemoryMarshal.CreateSpan(ref Unsafe.Add(ref b, width), pad).Clear();
    }

    /// <summary>
    /// The paired horizontal pass's weights: output columns go in groups of 8, and column j of a group shares a 256-bit
    /// vector with column j + 4 (RGB and an ignored lane each half); tap k of such a pair is 8 floats, the first column's
    /// weight four times and the second's four times, 0 past a column's own taps. PairCount holds each pair's taps.
    /// </summary>
    private static void BuildPairs(Scratch scratch, int outWidth, int xMax)
    {
        int groups = outWidth / 8;
        int need = groups * 4 * xMax * 8;
        if (scratch.PairWeights.Length < need) scratch.PairWeights = new float[need];
        if (scratch.PairCount.Length < groups * 4) scratch.PairCount = new int[groups * 4];
        var w = scratch.PairWeights;
        for (int g = 0; g < groups; g++)
        {
            for (int j = 0; j < 4; j++)
            {
                int a = g * 8 + j, b = a + 4, pair = g * 4 + j;
                int ca = scratch.XCount[a], cb = scratch.XCount[b];
                scratch.PairCount[pair] = Math.Max(ca, cb);
                for (int k = 0; k < xMax; k++)
                {
                    float wa = k < ca ? scratch.XWeights[a * xMax + k] : 0f;
                    float wb = k < cb ? scratch.XWeights[b * xMax + k] : 0f;
                    int at = (pair * xMax + k) * 8;
                    w[at] = w[at + 1] = w[at + 2] = w[at + 3] = wa;
                    w[at + 4] = w[at + 5] = w[at + 6] = w[at + 7] = wb;
                }
            }
        }
    }

    /// <summary>
    /// The horizontal pass for whole groups of 8 output columns (AVX and FMA): four pair vectors of sums, then a 4 × 4
    /// transpose within each 128-bit half turns them into 8 reds, 8 greens and 8 blues, stored into the planes. Returns
    /// the first column it did not do.
    /// </summary>
    private static int HorizontalPaired(ref float row, Scratch scratch, int outWidth, int xMax, ref float outR, ref float outG, ref float outB)
    {
        int groups = outWidth / 8;
        ref float w = ref MemoryMarshal.GetArrayDataReference(scratch.PairWeights);
        ref int counts = ref MemoryMarshal.GetArrayDataReference(scratch.PairCount);
        ref int starts = ref MemoryMarshal.GetArrayDataReference(scratch.XStart);
        var scale = Vector256.Create(1f / 255f);
        var top = Vector256<float>.One;
        for (int g = 0; g < groups; g++)
        {
            var a0 = Pair(ref row, ref w, ref counts, ref starts, g, 0, xMax);
            var a1 = Pair(ref row, ref w, ref counts, ref starts, g, 1, xMax);
            var a2 = Pair(ref row, ref w, ref counts, ref starts, g, 2, xMax);
            var a3 = Pair(ref row, ref w, ref counts, ref starts, g, 3, xMax);
            a0 = Vector256.Min(Vector256.Max(a0 * scale, Vector256<float>.Zero), top);
            a1 = Vector256.Min(Vector256.Max(a1 * scale, Vector256<float>.Zero), top);
            a2 = Vector256.Min(Vector256.Max(a2 * scale, Vector256<float>.Zero), top);
            a3 = Vector256.Min(Vector256.Max(a3 * scale, Vector256<float>.Zero), top);
            // a_j = [R G B x of column j | R G B x of column j + 4]
            var t0 = Avx.UnpackLow(a0, a1);  // R0 R1 G0 G1 | R4 R5 G4 G5
            var t1 = Avx.UnpackLow(a2, a3);  // R2 R3 G2 G3 | R6 R7 G6 G7
            var t2 = Avx.UnpackHigh(a0, a1); // B0 B1 x x   | B4 B5 x x
            var t3 = Avx.UnpackHigh(a2, a3); // B2 B3 x x   | B6 B7 x x
            Avx.Shuffle(t0, t1, 0x44).StoreUnsafe(ref outR, (nuint)(g * 8));
            Avx.Shuffle(t0, t1, 0xEE).StoreUnsafe(ref outG, (nuint)(g * 8));
            Avx.Shuffle(t2, t3, 0x44).StoreUnsafe(ref outB, (nuint)(g * 8));
        }
        return groups * 8;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Pair(ref float row, ref float w, ref int counts, ref int starts, int g, int j, int xMax)
    {
        int pair = g * 4 + j;
        int n = Unsafe.Add(ref counts, pair);
        int sa = Unsafe.Add(ref starts, g * 8 + j) * 3, sb = Unsafe.Add(ref starts, g * 8 + j + 4) * 3;
        ref float wp = ref Unsafe.Add(ref w, pair * xMax * 8);
        var acc = Vector256<float>.Zero;
        for (int k = 0; k < n; k++)
        {
            var v = Vector256.Create(Vector128.LoadUnsafe(ref row, (nuint)(sa + 3 * k)), Vector128.LoadUnsafe(ref row, (nuint)(sb + 3 * k)));
            acc = Fma.MultiplyAdd(v, Vector256.LoadUnsafe(ref wp, (nuint)(8 * k)), acc);
        }
        return acc;
    }

    /// <summary>Reverses the order of the output columns' filters (start, count and weights).</summary>
    private static void MirrorFilter(Scratch scratch, int outWidth, int stride)
    {
        for (int a = 0, b = outWidth - 1; a < b; a++, b--)
        {
            (scratch.XStart[a], scratch.XStart[b]) = (scratch.XStart[b], scratch.XStart[a]);
            (scratch.XCount[a], scratch.XCount[b]) = (scratch.XCount[b], scratch.XCount[a]);
            for (int k = 0; k < stride; k++)
                (scratch.XWeights[a * stride + k], scratch.XWeights[b * stride + k]) = (scratch.XWeights[b * stride + k], scratch.XWeights[a * stride + k]);
        }
    }

    /// <summary>
    /// Readies the ring of converted crop rows: yMax rows of <paramref name="rowLen"/> floats, none held yet. An output
    /// row's taps are at most yMax consecutive crop rows, so they never share a slot.
    /// </summary>
    private static void PrepareRing(Scratch scratch, int yMax, int rowLen)
    {
        if (scratch.Converted.Length < yMax * rowLen) scratch.Converted = new float[yMax * rowLen];
        if (scratch.RingRow.Length < yMax) scratch.RingRow = new int[yMax];
        scratch.RingRow.AsSpan(0, yMax).Fill(-1);
        if (scratch.Taps.Length < yMax) scratch.Taps = new int[yMax];
    }

    /// <summary>
    /// The vertical pass for output row <paramref name="oy"/>: its tap rows converted into the ring where they are not
    /// already (as floats 0..255: interleaved RGB when <paramref name="stride"/> is 0, else planar, channel rows
    /// <paramref name="stride"/> apart), then their weighted sum into <paramref name="rowOut"/>.
    /// </summary>
    private static void VerticalRow(ref byte src, int srcWidth, int x0, int y0, int cropWidth, int stride, int oy, int yMax, int rowLen,
        Scratch scratch, Span<float> rowOut)
    {
        int start = scratch.YStart[oy], count = scratch.YCount[oy];
        var offsets = scratch.Taps.AsSpan(0, count);
        ref float converted = ref MemoryMarshal.GetArrayDataReference(scratch.Converted);
        for (int k = 0; k < count; k++)
        {
            int srcRow = start + k, slot = srcRow % yMax;
            offsets[k] = slot * rowLen;
            if (scratch.RingRow[slot] == srcRow) continue;
            scratch.RingRow[slot] = srcRow;
            ref byte from = ref Unsafe.Add(ref src, ((y0 + srcRow) * srcWidth + x0) * 3);
            if (stride == 0) ToFloats(ref from, ref Unsafe.Add(ref converted, slot * rowLen), rowLen);
            else ToPlanarFloats(ref from, ref Unsafe.Add(ref converted, slot * rowLen), cropWidth, stride);
        }
        WeightedSum(ref converted, offsets, scratch.YWeights.AsSpan(oy * yMax, count), rowOut);
    }

    /// <summary><paramref name="n"/> bytes widened to floats.</summary>
    private static void ToFloats(ref byte src, ref float dst, int n)
    {
        int byteLanes = Vector<byte>.Count, i = 0;
        for (; i <= n - byteLanes; i += byteLanes)
        {
            var bytes = Vector.LoadUnsafe(ref src, (nuint)i);
            Vector.Widen(bytes, out Vector<ushort> lo16, out Vector<ushort> hi16);
            Vector.Widen(lo16, out Vector<uint> a, out Vector<uint> b);
            Vector.Widen(hi16, out Vector<uint> c, out Vector<uint> d);
            Vector.ConvertToSingle(Vector.AsVectorInt32(a)).StoreUnsafe(ref dst, (nuint)i);
            Vector.ConvertToSingle(Vector.AsVectorInt32(b)).StoreUnsafe(ref dst, (nuint)(i + Lanes));
            Vector.ConvertToSingle(Vector.AsVectorInt32(c)).StoreUnsafe(ref dst, (nuint)(i + 2 * Lanes));
            Vector.ConvertToSingle(Vector.AsVectorInt32(d)).StoreUnsafe(ref dst, (nuint)(i + 3 * Lanes));
        }
        for (; i < n; i++) Unsafe.Add(ref dst, i) = Unsafe.Add(ref src, i);
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
        double sum = LumaR * Sum(planes[..pixels]) + LumaG * Sum(planes.Slice(pixels, pixels)) + LumaB * Sum(planes.Slice(2 * pixels, pixels));
        float mean = (float)(sum / pixels);
        Affine(planes[..(3 * pixels)], factor, (1 - factor) * mean);
    }

    /// <summary>v ← clamp(factor · v + bias, 0, 1).</summary>
    internal static void Affine(Span<float> values, float factor, float bias)
    {
        ref float p = ref MemoryMarshal.GetReference(values);
        var vf = new Vector<float>(factor);
        var vb = new Vector<float>(bias);
        int i = 0;
        for (; i <= values.Length - Lanes; i += Lanes)
            Vector.Min(Vector.Max(Vector.LoadUnsafe(ref p, (nuint)i) * vf + vb, Vector<float>.Zero), Vector<float>.One).StoreUnsafe(ref p, (nuint)i);
        for (; i < values.Length; i++) Unsafe.Add(ref p, i) = Math.Clamp(factor * Unsafe.Add(ref p, i) + bias, 0f, 1f);
    }

    /// <summary>The values' sum: float vectors, then the lanes and the remainder in double.</summary>
    internal static double Sum(ReadOnlySpan<float> values)
    {
        ref float p = ref MemoryMarshal.GetReference(values);
        var acc = Vector<float>.Zero;
        int i = 0;
        for (; i <= values.Length - Lanes; i += Lanes) acc += Vector.LoadUnsafe(ref p, (nuint)i);
        double sum = Vector.Sum(acc);
        for (; i < values.Length; i++) sum += Unsafe.Add(ref p, i);
        return sum;
    }

    /// <summary>Blends each pixel with its own luma (<see cref="ColorOps.Saturation"/>).</summary>
    public static void Saturation(Span<float> planes, int pixels, float factor)
    {
        CheckPlanes(planes, pixels);
        ref float r = ref MemoryMarshal.GetReference(planes);
        Saturation(ref r, ref Unsafe.Add(ref r, pixels), ref Unsafe.Add(ref r, 2 * pixels), pixels, factor);
    }

    /// <summary><see cref="Saturation(Span{float}, int, float)"/> on <paramref name="pixels"/> values of three planes.</summary>
    internal static void Saturation(ref float r, ref float g, ref float b, int pixels, float factor)
    {
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
        Grayscale(ref r, ref Unsafe.Add(ref r, pixels), ref Unsafe.Add(ref r, 2 * pixels), pixels);
    }

    /// <summary><see cref="Grayscale(Span{float}, int)"/> on <paramref name="pixels"/> values of three planes.</summary>
    internal static void Grayscale(ref float r, ref float g, ref float b, int pixels)
    {
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
        Hue(ref r, ref Unsafe.Add(ref r, pixels), ref Unsafe.Add(ref r, 2 * pixels), pixels, shift);
    }

    /// <summary><see cref="Hue(Span{float}, int, float)"/> on <paramref name="pixels"/> values of three planes.</summary>
    internal static void Hue(ref float r, ref float g, ref float b, int pixels, float shift)
    {
        var vShift = new Vector<float>(shift);
        int i = 0;
        for (; i <= pixels - Lanes; i += Lanes)
        {
            var (vr, vg, vb) = Load(ref r, ref g, ref b, i);
            HueVector(ref vr, ref vg, ref vb, vShift);
            vr.StoreUnsafe(ref r, (nuint)i);
            vg.StoreUnsafe(ref g, (nuint)i);
            vb.StoreUnsafe(ref b, (nuint)i);
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

    /// <summary><see cref="Hue(Span{float}, int, float)"/> on one vector of pixels: every sector computed, the pixel's selected by masks; grays unchanged.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void HueVector(ref Vector<float> vr, ref Vector<float> vg, ref Vector<float> vb, Vector<float> vShift)
    {
        var one = Vector<float>.One;
        var two = new Vector<float>(2f);
        var three = new Vector<float>(3f);
        var four = new Vector<float>(4f);
        var six = new Vector<float>(6f);
        var max = Vector.Max(vr, Vector.Max(vg, vb));
        var min = Vector.Min(vr, Vector.Min(vg, vb));
        var delta = max - min;
        var chromatic = Vector.GreaterThan(delta, Vector<float>.Zero);
        if (chromatic == Vector<int>.Zero) return;
        var d = Vector.ConditionalSelect(chromatic, delta, one);
        // The sector's numerator chosen first, so one division serves all three cases (the same values as dividing each).
        var isR = Vector.Equals(max, vr);
        var isG = Vector.Equals(max, vg);
        var num = Vector.ConditionalSelect(isR, vg - vb, Vector.ConditionalSelect(isG, vb - vr, vr - vg));
        var part = num / d;
        var h = Vector.ConditionalSelect(isR, part, Vector.ConditionalSelect(isG, two + part, four + part));
        h = h * new Vector<float>(1f / 6f) + vShift;
        h -= Vector.Floor(h);
        var v = max;
        var h6 = h * six;
        var sector = Vector.Floor(h6);
        var f = h6 - sector;
        sector = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(sector, six), sector - six, sector);
        // torchvision's p = v(1 − s), q = v(1 − s·f), t = v(1 − s(1 − f)) with s = Δ / v, without the division:
        // p = min, q = v − Δ·f, t = min + Δ·f (equal but for the last bit or so).
        var p = min;
        var q = v - delta * f;
        var t = min + delta * f;
        var is0 = Vector.LessThan(sector, one);
        var is1 = Vector.Equals(sector, one);
        var is2 = Vector.Equals(sector, two);
        var is3 = Vector.Equals(sector, three);
        var is4 = Vector.Equals(sector, four);
        // sector: 0 (v,t,p) 1 (q,v,p) 2 (p,v,t) 3 (p,q,v) 4 (t,p,v) 5 (v,p,q)
        var nr = Select(is0, v, Select(is1, q, Select(is2, p, Select(is3, p, Select(is4, t, v)))));
        var ng = Select(is0, t, Select(is1, v, Select(is2, v, Select(is3, q, Select(is4, p, p)))));
        var nb = Select(is0, p, Select(is1, p, Select(is2, t, Select(is3, v, Select(is4, v, q)))));
        vr = Vector.ConditionalSelect(chromatic, nr, vr);
        vg = Vector.ConditionalSelect(chromatic, ng, vg);
        vb = Vector.ConditionalSelect(chromatic, nb, vb);
    }

    /// <summary>
    /// Separable Gaussian blur with reflect padding (<see cref="GaussianBlur.Apply"/>): rows into <paramref name="temp"/>
    /// (3 × width × height floats), then columns back. The taps are summed in the reference's order.
    /// </summary>
    public static void Blur(Span<float> planes, int width, int height, ReadOnlySpan<float> kernel, Span<float> temp, Scratch scratch)
    {
        int taps = kernel.Length, radius = taps / 2, plane = width * height;
        if (temp.Length < 3 * plane) throw new ArgumentException("scratch too small", nameof(temp));
        PrepareRowBlur(scratch, width, taps);
        for (int row = 0; row < 3 * height; row++) BlurRow(planes.Slice(row * width, width), kernel, scratch, temp.Slice(row * width, width));

        // Vertical: tap k of output row y is the reflected row y + k − radius.
        var offsets = scratch.Taps.AsSpan(0, taps);
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

    /// <summary>Sizes the scratch for <see cref="BlurRow"/> (and <paramref name="taps"/> offsets of the caller's own).</summary>
    internal static void PrepareRowBlur(Scratch scratch, int width, int taps)
    {
        int padLen = width + 2 * (taps / 2);
        if (scratch.Pad.Length < padLen) scratch.Pad = new float[padLen];
        if (scratch.Taps.Length < taps) scratch.Taps = new int[taps];
        if (scratch.RowTaps.Length < taps) scratch.RowTaps = new int[taps];
        for (int k = 0; k < taps; k++) scratch.RowTaps[k] = k;
    }

    /// <summary>
    /// One row convolved with <paramref name="kernel"/> into <paramref name="dst"/>, reflect padding: the row copied into
    /// the pad with its reflected edges, tap k of output x at pad[x + k] (after <see cref="PrepareRowBlur"/>).
    /// </summary>
    internal static void BlurRow(ReadOnlySpan<float> src, ReadOnlySpan<float> kernel, Scratch scratch, Span<float> dst)
    {
        int width = src.Length, radius = kernel.Length / 2;
        var pad = scratch.Pad.AsSpan(0, width + 2 * radius);
        src.CopyTo(pad[radius..]);
        for (int x = 0; x < radius; x++)
        {
            pad[x] = src[GaussianBlur.Reflect(x - radius, width)];
            pad[radius + width + x] = src[GaussianBlur.Reflect(width + x, width)];
        }
        WeightedSum(ref MemoryMarshal.GetReference(pad), scratch.RowTaps.AsSpan(0, kernel.Length), kernel, dst);
    }

    /// <summary>
    /// dst[i] = Σₖ kernel[k] · src[offsets[k] + i], the taps summed in order (fused multiply-adds); four vectors of outputs at a time, so that
    /// their sums proceed side by side instead of each waiting on its previous tap.
    /// </summary>
    internal static void WeightedSum(ref float src, ReadOnlySpan<int> offsets, ReadOnlySpan<float> kernel, Span<float> dst)
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
                a0 = Vector.FusedMultiplyAdd(w, Vector.LoadUnsafe(ref at), a0);
                a1 = Vector.FusedMultiplyAdd(w, Vector.LoadUnsafe(ref at, (nuint)Lanes), a1);
                a2 = Vector.FusedMultiplyAdd(w, Vector.LoadUnsafe(ref at, (nuint)(2 * Lanes)), a2);
                a3 = Vector.FusedMultiplyAdd(w, Vector.LoadUnsafe(ref at, (nuint)(3 * Lanes)), a3);
            }
            a0.StoreUnsafe(ref d, (nuint)i);
            a1.StoreUnsafe(ref d, (nuint)(i + Lanes));
            a2.StoreUnsafe(ref d, (nuint)(i + 2 * Lanes));
            a3.StoreUnsafe(ref d, (nuint)(i + 3 * Lanes));
        }
        for (; i <= width - Lanes; i += Lanes)
        {
            var acc = Vector<float>.Zero;
            for (int k = 0; k < taps; k++) acc = Vector.FusedMultiplyAdd(new Vector<float>(Unsafe.Add(ref k0, k)), Vector.LoadUnsafe(ref src, (nuint)(Unsafe.Add(ref o0, k) + i)), acc);
            acc.StoreUnsafe(ref d, (nuint)i);
        }
        for (; i < width; i++)
        {
            float acc = 0;
            for (int k = 0; k < taps; k++) acc = MathF.FusedMultiplyAdd(Unsafe.Add(ref k0, k), Unsafe.Add(ref src, Unsafe.Add(ref o0, k) + i), acc);
            Unsafe.Add(ref d, i) = acc;
        }
    }

    /// <summary>Planes to uint8 CHW, rounding as <see cref="Layout.ToChwBytes"/> does (clamp(⌊255 v + 0.5⌋, 0, 255)).</summary>
    public static void ToBytes(ReadOnlySpan<float> planes, Span<byte> chw)
    {
        if (chw.Length < planes.Length) throw new ArgumentException("destination too small", nameof(chw));
        ToBytes(planes, chw, float.NaN);
    }

    /// <summary><see cref="ToBytes(ReadOnlySpan{float}, Span{byte})"/>, solarizing first (<see cref="Solarize"/>) unless <paramref name="solarize"/> is NaN.</summary>
    internal static void ToBytes(ReadOnlySpan<float> values, Span<byte> dst, float solarize)
    {
        ref float src = ref MemoryMarshal.GetReference(values);
        ref byte d = ref MemoryMarshal.GetReference(dst);
        bool solar = !float.IsNaN(solarize);
        var t = new Vector<float>(solarize);
        int n = values.Length, block = 4 * Lanes, i = 0; // four float vectors narrow to one byte vector
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
            // Signed conversions (AVX2 has no unsigned ones); the values are 0..255, so the narrowing keeps them.
            var lo = Vector.AsVectorUInt16(Vector.Narrow(Quantize(a), Quantize(b)));
            var hi = Vector.AsVectorUInt16(Vector.Narrow(Quantize(c), Quantize(e)));
            Vector.Narrow(lo, hi).StoreUnsafe(ref d, (nuint)i);
        }
        for (; i < n; i++)
        {
            float v = Unsafe.Add(ref src, i);
            if (solar && v >= solarize) v = 1f - v;
            Unsafe.Add(ref d, i) = (byte)Math.Clamp((int)(v * 255f + 0.5f), 0, 255);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<int> Quantize(Vector<float> v)
    {
        var scale = new Vector<float>(255f);
        return Vector.ConvertToInt32(Vector.Min(Vector.Max(v * scale + new Vector<float>(0.5f), Vector<float>.Zero), scale));
    }

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
