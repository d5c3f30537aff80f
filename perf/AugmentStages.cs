using System.Diagnostics;
using System.Globalization;
using Contrastive.Augment;
using Contrastive.Core;

namespace Contrastive.Perf;

/// <summary>
/// `dotnet run -c Release --project perf -- augment-stages [generated[:WxH]|DIR] [N=200] [SIZE=224]`: one thread, the time
/// of each view operation on its own (µs a call), over N decoded JPEGs with each image's own SimCLR crop draws: decode,
/// crop + resize, flip, brightness, contrast, saturation, hue, grayscale, 23-tap blur, solarize, and the float path's
/// conversion to bytes. Every operation runs on the same crops, repeated until a second has passed; the median of 5
/// such passes is reported.
/// </summary>
public static class AugmentStages
{
    public static void Run(string[] args)
    {
        string source = args.Length > 0 ? args[0] : "generated";
        int count = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 200;
        int size = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 224;
        byte[][] jpegs = source.StartsWith("generated", StringComparison.Ordinal)
            ? (source == "generated" ? DecodeBenchmark.Generate(count) : DecodeBenchmark.Generate(count,
                int.Parse(source["generated:".Length..].Split('x')[0], CultureInfo.InvariantCulture),
                int.Parse(source["generated:".Length..].Split('x')[1], CultureInfo.InvariantCulture)))
            : DecodeBenchmark.Load(source, count);
        var options = new AugmentOptions { Size = size, ScaleMin = 0.08, JitterStrength = 1.0 };
        using var decoder = new TurboJpegDecoder();
        using var fastUpsample = new TurboJpegDecoder { ExtraFlags = TurboJpegNative.FlagFastUpsample };
        using var fastDct = new TurboJpegDecoder { ExtraFlags = TurboJpegNative.FlagFastDct };
        using var fastBoth = new TurboJpegDecoder { ExtraFlags = TurboJpegNative.FlagFastUpsample | TurboJpegNative.FlagFastDct };
        var images = jpegs.Select(j => { var p = new PixelBuffer(); decoder.Decode(j, p); return p; }).ToArray();
        var crops = images.Select((p, i) =>
        {
            var rng = new SampleRandom(0, 0, i, 0);
            return SimClrViewPolicy.DrawCrop(p.SourceWidth, p.SourceHeight, options, options.ScaleMin, options.ScaleMax, ref rng);
        }).ToArray();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{images.Length} images from {source} ({images[0].Width}x{images[0].Height} first), views {size} px; AVX-512 {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}, AVX2 {System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated}"));

        var ws = new ViewWorkspace();
        var pixel = new PixelBuffer();
        int n = 0;
        var stages = new List<(string Name, Action Op)>
        {
            ("decode (turbojpeg, full)", () => decoder.Decode(jpegs[n % jpegs.Length], pixel)),
            ("decode, TJFLAG_FASTUPSAMPLE (not used)", () => fastUpsample.Decode(jpegs[n % jpegs.Length], pixel)),
            ("decode, TJFLAG_FASTDCT (not used)", () => fastDct.Decode(jpegs[n % jpegs.Length], pixel)),
            ("decode, both (not used)", () => fastBoth.Decode(jpegs[n % jpegs.Length], pixel)),
        };
        // Float path: each operation on a view already cropped.
        var planes = new float[3 * size * size];
        var kernel = new float[GaussianBlur.KernelSizeFor(size)];
        GaussianBlur.Kernel(kernel, 1.0);
        var bytes = new byte[3 * size * size];
        void Crop()
        {
            int i = n % images.Length;
            var c = images[i].ToPixels(crops[i]);
            PlanarOps.CropResize(images[i].Pixels, images[i].Width, images[i].Height, c.X, c.Y, c.Width, c.Height, planes, size, size, ws.Planar);
        }
        var pristine = new float[images.Length][];
        for (int i = 0; i < images.Length; i++, n++) { Crop(); pristine[i] = (float[])planes.Clone(); }
        n = 0;
        // Every operation below starts from its image's crop (copied in: the copy's time is its own line).
        void Fresh() => pristine[n % images.Length].CopyTo(planes, 0);
        var temp = new float[planes.Length];
        stages.Add(("reference (one pass each): crop + resize", Crop));
        stages.Add(("reference (one pass each): copy of a crop", Fresh));
        stages.Add(("reference (one pass each): flip", () => { Fresh(); PlanarOps.FlipHorizontal(planes, size, size); }));
        stages.Add(("reference (one pass each): brightness", () => { Fresh(); PlanarOps.Brightness(planes, n % 2 == 0 ? 1.1f : 0.9f); }));
        stages.Add(("reference (one pass each): contrast", () => { Fresh(); PlanarOps.Contrast(planes, size * size, n % 2 == 0 ? 1.1f : 0.9f); }));
        stages.Add(("reference (one pass each): saturation", () => { Fresh(); PlanarOps.Saturation(planes, size * size, n % 2 == 0 ? 1.1f : 0.9f); }));
        stages.Add(("reference (one pass each): hue", () => { Fresh(); PlanarOps.Hue(planes, size * size, n % 2 == 0 ? 0.1f : -0.1f); }));
        stages.Add(("reference (one pass each): grayscale", () => { Fresh(); PlanarOps.Grayscale(planes, size * size); }));
        stages.Add(("reference (one pass each): blur", () => { Fresh(); PlanarOps.Blur(planes, size, size, kernel, temp, ws.Planar); }));
        stages.Add(("reference (one pass each): solarize", () => { Fresh(); PlanarOps.Solarize(planes, 0.5f); }));
        stages.Add(("reference (one pass each): to bytes", () => { Fresh(); PlanarOps.ToBytes(planes, bytes); }));
        var policy = new SimClrViewPolicy(options);
        stages.Add(("view (all passes), as the policy makes it", () => policy.WriteView(images[n % images.Length], n & 1, 0, 0, n, bytes, ws)));
        foreach (var (label, variant) in new (string, AugmentOptions)[]
        {
            ("no blur", new AugmentOptions { Size = size, ScaleMin = 0.08, JitterStrength = 1.0, BlurProbability = 0 }),
            ("no jitter", new AugmentOptions { Size = size, ScaleMin = 0.08, JitterStrength = 1.0, JitterProbability = 0 }),
            ("blur always", new AugmentOptions { Size = size, ScaleMin = 0.08, JitterStrength = 1.0, BlurProbability = 1 }),
            ("jitter always, blur always", new AugmentOptions { Size = size, ScaleMin = 0.08, JitterStrength = 1.0, BlurProbability = 1, JitterProbability = 1 }),
            ("jitter always, blur always, no gray", new AugmentOptions { Size = size, ScaleMin = 0.08, JitterStrength = 1.0, BlurProbability = 1, JitterProbability = 1, GrayscaleProbability = 0 }),
            ("no blur, no jitter", new AugmentOptions { Size = size, ScaleMin = 0.08, JitterStrength = 1.0, BlurProbability = 0, JitterProbability = 0 }),
        })
        {
            var p = new SimClrViewPolicy(variant);
            stages.Add(($"view, {label}", () => p.WriteView(images[n % images.Length], n & 1, 0, 0, n, bytes, ws)));
        }
        // The passes a view is made in (ViewPass).
        ColourStep[] jitter = [new(ColourOp.Saturation, 1.3f), new(ColourOp.Brightness, 0.8f), new(ColourOp.Hue, 0.1f), new(ColourOp.Contrast, 1.2f)];
        var kernel1 = GaussianBlur.Significant(kernel).ToArray();
        var kernel2 = new float[kernel.Length];
        GaussianBlur.Kernel(kernel2, 2.0);
        kernel2 = GaussianBlur.Significant(kernel2).ToArray();
        stages.Add(("pass: crop + resize, flipped", () =>
        {
            int i = n % images.Length;
            var c = images[i].ToPixels(crops[i]);
            PlanarOps.CropResize(images[i].Pixels, images[i].Width, images[i].Height, c.X, c.Y, c.Width, c.Height, planes, size, size, ws.Planar, flip: true);
        }));
        stages.Add(("pass: rounding alone (no colour step)", () => { Fresh(); ViewPass.Colour(planes, size * size, [], false, float.NaN, bytes); }));
        stages.Add(("pass: jitter (4 steps) + rounding", () => { Fresh(); ViewPass.Colour(planes, size * size, jitter, false, float.NaN, bytes); }));
        stages.Add(("pass: jitter (4 steps) + grayscale, floats back", () => { Fresh(); ViewPass.Colour(planes, size * size, jitter, true, float.NaN, []); }));
        stages.Add(("pass: jitter floats back, then blur σ 1", () => { Fresh(); ViewPass.Colour(planes, size * size, jitter, false, float.NaN, []); ViewPass.BlurToBytes(planes, size, size, kernel1, ws.Planar, float.NaN, bytes); }));
        stages.Add((string.Create(CultureInfo.InvariantCulture, $"pass: blur σ 1 ({kernel1.Length} taps) + rounding"), () => { Fresh(); ViewPass.BlurToBytes(planes, size, size, kernel1, ws.Planar, float.NaN, bytes); }));
        stages.Add((string.Create(CultureInfo.InvariantCulture, $"pass: blur σ 2 ({kernel2.Length} taps) + rounding"), () => { Fresh(); ViewPass.BlurToBytes(planes, size, size, kernel2, ws.Planar, float.NaN, bytes); }));

        Console.WriteLine("| stage | µs a call (median of 5) |");
        Console.WriteLine("|---|---|");
        foreach (var (name, op) in stages)
        {
            for (int w = 0; w < 50; w++, n++) op();
            var passes = new List<double>();
            for (int p = 0; p < 5; p++)
            {
                var clock = Stopwatch.StartNew();
                int calls = 0;
                while (clock.Elapsed.TotalSeconds < 0.4) { op(); n++; calls++; }
                passes.Add(clock.Elapsed.TotalMicroseconds / calls);
            }
            passes.Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {passes[2]:F1} |"));
        }
    }
}
