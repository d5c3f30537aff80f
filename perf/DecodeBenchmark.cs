using System.Diagnostics;
using System.Globalization;
using Contrastive.Augment;
using SkiaSharp;

namespace Contrastive.Perf;

/// <summary>
/// `dotnet run -c Release --project perf -- decode [generated|DIR] [N=200] [SECONDS=10] [ROUNDS=5]`: single-thread
/// JPEG decode rate, images/s, over N JPEGs held in memory: generated (400×300, quality 95: gradients, soft and hard
/// shapes and sensor-like noise, seeded) or the first N *.jpg/*.jpeg files of DIR. Decoders: skia, imagesharp (fully
/// managed, always in full), turbojpeg,
/// turbojpeg at 1/2 scale (DCT domain), and the system python3's Pillow on the same files as torchvision's pil_loader
/// decodes them (open + convert("RGB")), in full and with draft() at 1/2. After one warm-up pass each decoder runs
/// SECONDS in all, split into ROUNDS rounds that take the decoders in turn; the median round is reported.
/// </summary>
public static class DecodeBenchmark
{
    private const string Python = "/usr/bin/python3";

    private const string PillowScript = """
        import glob, io, os, sys, time
        from PIL import Image, __version__
        files = sorted(glob.glob(os.path.join(sys.argv[1], '*.jpg')))
        blobs = [open(p, 'rb').read() for p in files]
        seconds = float(sys.argv[2])
        def full(b):
            return Image.open(io.BytesIO(b)).convert('RGB')
        def half(b):
            im = Image.open(io.BytesIO(b))
            im.draft('RGB', ((im.width + 1) // 2, (im.height + 1) // 2))
            return im.convert('RGB')
        for name, f in (('pillow ' + __version__, full), ('pillow ' + __version__ + ' draft 1/2', half)):
            sizes = {f(b).size for b in blobs}
            n, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < seconds:
                for b in blobs:
                    f(b)
                n += len(blobs)
            print('%s\t%.1f\t%s' % (name, n / (time.perf_counter() - t0), sorted(sizes)[0]))
        """;

    public static void Run(string[] args)
    {
        string source = args.Length > 0 ? args[0] : "generated";
        int count = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 200;
        double seconds = args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 10;
        int rounds = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 5;
        byte[][] jpegs = source == "generated" ? Generate(count) : Load(source, count);
        if (jpegs.Length == 0) throw new InvalidOperationException($"no JPEG files in {source}");

        // Each image's size, for the 1/2 decode's bound.
        var sizes = new (int W, int H)[jpegs.Length];
        var skia = new SkiaImageDecoder();
        var pixels = new PixelBuffer();
        for (int i = 0; i < jpegs.Length; i++)
        {
            skia.Decode(jpegs[i], pixels);
            sizes[i] = (pixels.Width, pixels.Height);
        }
        double kb = jpegs.Average(j => j.Length) / 1024.0;
        double bpp = jpegs.Select((j, i) => 8.0 * j.Length / (sizes[i].W * sizes[i].H)).Average();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{jpegs.Length} JPEGs from {source}, first {sizes[0].W}x{sizes[0].H}, {kb:F1} KB ({bpp:F2} bits/pixel) on average; " +
            $"one thread; {seconds:F0} s a decoder in {rounds} interleaved rounds (the median round is reported)"));
        Console.WriteLine($"libturbojpeg: {(TurboJpegDecoder.IsAvailable ? "found" : "NOT FOUND")}");

        using var turbo = TurboJpegDecoder.IsAvailable ? new TurboJpegDecoder() : null;
        var sharp = new ImageSharpDecoder();
        var decoders = new List<(string Name, Action<byte[], int, PixelBuffer> Decode)>
        {
            ("skia", (b, _, p) => skia.Decode(b, p)),
            ("imagesharp", (b, _, p) => sharp.Decode(b, p)),
        };
        if (turbo is not null)
        {
            decoders.Add(("turbojpeg", (b, _, p) => turbo.Decode(b, p)));
            decoders.Add(("turbojpeg 1/2", (b, i, p) => turbo.Decode(b, p, (sizes[i].W + 1) / 2, (sizes[i].H + 1) / 2)));
        }

        // Rounds alternate the decoders, so that a change in the machine's load falls on all of them alike.
        var rates = new Dictionary<string, List<double>>();
        var outputs = new Dictionary<string, string>();
        var allocated = new Dictionary<string, double>();
        foreach (var (name, decode) in decoders)
        {
            var p = new PixelBuffer();
            for (int i = jpegs.Length - 1; i >= 0; i--) decode(jpegs[i], i, p); // warm-up, ending on image 0
            outputs[name] = $"{p.Width}x{p.Height}";
        }
        string dir = Path.Combine(Path.GetTempPath(), $"contrastive-decode-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            for (int i = 0; i < jpegs.Length; i++) File.WriteAllBytes(Path.Combine(dir, $"{i:D5}.jpg"), jpegs[i]);
            for (int r = 0; r < rounds; r++)
            {
                foreach (var (name, decode) in decoders)
                {
                    var (rate, bytes) = Measure(seconds / rounds, jpegs, decode);
                    Add(name, rate);
                    allocated[name] = bytes;
                }
                foreach (var (name, rate, size) in Pillow(dir, seconds / rounds))
                {
                    Add(name, rate);
                    outputs[name] = size;
                }
                Console.WriteLine($"round {r + 1}: " + string.Join(", ", rates.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value[^1]:F0}"))));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        Console.WriteLine();
        Console.WriteLine("| decoder | images/s (median round) | rounds min–max | µs an image | output (first image) | B allocated an image |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var (name, list) in rates)
        {
            var sorted = list.Order().ToList();
            double median = sorted[sorted.Count / 2];
            string alloc = allocated.TryGetValue(name, out var a) ? a.ToString("F0", CultureInfo.InvariantCulture) : "–";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {median:F0} | {sorted[0]:F0}–{sorted[^1]:F0} | {1e6 / median:F0} | {outputs[name]} | {alloc} |"));
        }

        void Add(string name, double rate)
        {
            if (!rates.TryGetValue(name, out var list)) rates[name] = list = [];
            list.Add(rate);
        }
    }

    /// <summary>Decodes the images in turn for <paramref name="seconds"/>: images a second and managed bytes allocated an image.</summary>
    private static (double Rate, double Allocated) Measure(double seconds, byte[][] jpegs, Action<byte[], int, PixelBuffer> decode)
    {
        var p = new PixelBuffer();
        decode(jpegs[0], 0, p);
        long n = 0, allocated = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            for (int i = 0; i < jpegs.Length; i++) decode(jpegs[i], i, p);
            n += jpegs.Length;
        }
        double rate = n / clock.Elapsed.TotalSeconds;
        return (rate, (double)(GC.GetAllocatedBytesForCurrentThread() - allocated) / n);
    }

    /// <summary>One Pillow round over the files in <paramref name="dir"/> (python's start-up is not timed).</summary>
    private static List<(string Name, double Rate, string Size)> Pillow(string dir, double seconds)
    {
        var results = new List<(string, double, string)>();
        try
        {
            var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "-c", PillowScript, dir, seconds.ToString(CultureInfo.InvariantCulture) }) psi.ArgumentList.Add(a);
            using var process = Process.Start(psi)!;
            var stderr = process.StandardError.ReadToEndAsync();
            foreach (var line in process.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var cells = line.Split('\t');
                results.Add((cells[0], double.Parse(cells[1], CultureInfo.InvariantCulture), cells[2].Trim('(', ')').Replace(", ", "x", StringComparison.Ordinal)));
            }
            process.WaitForExit();
            if (process.ExitCode != 0) Console.WriteLine($"pillow: {Python} failed: {stderr.Result.Trim()}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Console.WriteLine($"pillow: {Python} could not be started ({e.Message})");
        }
        return results;
    }

    internal static byte[][] Load(string dir, int count) =>
        Directory.EnumerateFiles(dir)
            .Where(f => f.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".jpeg", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal).Take(count).Select(File.ReadAllBytes).ToArray();

    /// <summary>400×300 quality-95 JPEGs that compress like photos: smooth gradients, soft (blurred) and hard shapes, noise.</summary>
    internal static byte[][] Generate(int count, int w = 400, int h = 300)
    {
        var result = new byte[count][];
        for (int n = 0; n < count; n++)
        {
            var rng = new Random(n);
            SKColor Color(int alpha) => new((byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(256), (byte)alpha);
            using var bmp = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque));
            using (var canvas = new SKCanvas(bmp))
            {
                using (var shader = SKShader.CreateLinearGradient(new SKPoint(rng.Next(w), 0), new SKPoint(rng.Next(w), h),
                           [Color(255), Color(255), Color(255)], SKShaderTileMode.Clamp))
                using (var sky = new SKPaint { Shader = shader })
                    canvas.DrawRect(0, 0, w, h, sky);
                using var paint = new SKPaint { IsAntialias = true };
                for (int i = 0; i < 24; i++)
                {
                    paint.Color = Color(rng.Next(90, 256));
                    using var blur = rng.Next(2) == 0 ? SKMaskFilter.CreateBlur(SKBlurStyle.Normal, 1 + rng.Next(12)) : null;
                    paint.MaskFilter = blur;
                    float x = rng.Next(w), y = rng.Next(h), r = 4 + rng.Next(70);
                    switch (rng.Next(4))
                    {
                        case 0: canvas.DrawCircle(x, y, r, paint); break;
                        case 1: canvas.DrawRect(x - r, y - r / 2, 2 * r, r, paint); break;
                        case 2: canvas.DrawOval(x, y, r, r / 3, paint); break;
                        default:
                            paint.StrokeWidth = 1 + rng.Next(6);
                            canvas.DrawLine(x, y, rng.Next(w), rng.Next(h), paint);
                            break;
                    }
                    paint.MaskFilter = null;
                }
            }
            // Sensor-like noise: triangular, up to ±14 a channel (about 48 KB, 3.3 bits a pixel, at quality 95: near data/photo400).
            var px = bmp.GetPixelSpan();
            for (int i = 0; i < px.Length; i += 4)
                for (int c = 0; c < 3; c++)
                    px[i + c] = (byte)Math.Clamp(px[i + c] + rng.Next(-7, 8) + rng.Next(-7, 8), 0, 255);
            using var image = SKImage.FromBitmap(bmp);
            using var data = image.Encode(SKEncodedImageFormat.Jpeg, 95);
            result[n] = data.ToArray();
        }
        return result;
    }
}
