using System.Diagnostics;
using System.Globalization;
using Contrastive.Augment;
using Contrastive.Batching;

namespace Contrastive.Perf;

/// <summary>
/// `[taskset -c 0] dotnet run -c Release --project perf -- augment [generated[:WxH]|DIR] [N=200] [SECONDS=20] [ROUNDS=5]`:
/// the two-view benchmark. Per source image: decode with the default decoder, then two SimCLR views at 224 px (crop scale
/// 0.08–1, ratio 3/4–4/3, flip 0.5, ColorJitter(0.8, 0.8, 0.8, 0.2) with p 0.8 in random order, grayscale 0.2, Gaussian
/// blur k 23, σ 0.1–2, p 0.5) written as uint8 into a batch slot, through the pipeline's own sample worker. Generated
/// images are 400×300 quality-95 JPEGs unless WxH says otherwise. Each round measures, on one thread: the whole work,
/// the decode alone (so a view's time is the rest, halved), and the whole work with DCT-scaled decoding off
/// (Augment:DecodeScaling false); on two threads (a worker each) when the process may use two cores; and both peers on the
/// same files, one core each (taskset -c 0 when present; they run first in each round, and half a second of ours
/// unmeasured follows them): ../shared/peers/peer_torchvision_aug.py (torchvision + Pillow)
/// and ../shared/peers/peer_opencv_aug.py (OpenCV on uint8, the albumentations way). Under `taskset -c 0` everything runs
/// on the one core. Median round reported, with the managed bytes allocated an image and the share of images whose decode
/// is DCT-scaled for these views.
/// </summary>
public static class AugmentBenchmark
{
    private const string Python = "/usr/bin/python3";

    public static void Run(string[] args)
    {
        string source = args.Length > 0 ? args[0] : "generated";
        int count = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 200;
        double seconds = args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 20;
        int rounds = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 5;
        byte[][] jpegs = source.StartsWith("generated", StringComparison.Ordinal) ? Generated(source, count) : DecodeBenchmark.Load(source, count);
        if (jpegs.Length == 0) throw new InvalidOperationException($"no JPEG files in {source}");
        string torchvision = FindPeer("peer_torchvision_aug.py");
        string opencv = FindPeer("peer_opencv_aug.py");
        bool two = Environment.ProcessorCount >= 2;

        var options = new AugmentOptions { Size = 224, ScaleMin = 0.08, JitterStrength = 1.0 };
        var policy = new SimClrViewPolicy(options);
        var processor = new ImageSampleProcessor(policy);
        var fullDecode = new ImageSampleProcessor(new SimClrViewPolicy(new AugmentOptions { Size = 224, ScaleMin = 0.08, JitterStrength = 1.0, DecodeScaling = false }));
        double scaledShare = ScaledShare(jpegs, policy);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{jpegs.Length} JPEGs from {source}, {jpegs.Average(j => j.Length) / 1024.0:F1} KB on average; decoder {processor.Name}; " +
            $"two 224-px SimCLR views an image; {Environment.ProcessorCount} core(s) usable; vector width {System.Numerics.Vector<float>.Count} floats; " +
            $"{rounds} rounds of {seconds / rounds:F1} s a configuration; {scaledShare:P0} of the images decode DCT-scaled for epoch 0's views"));

        var results = new Dictionary<string, List<double>>();
        double allocated = 0;
        string dir = Path.Combine(Path.GetTempPath(), $"contrastive-augment-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            for (int i = 0; i < jpegs.Length; i++) File.WriteAllBytes(Path.Combine(dir, $"{i:D5}.jpg"), jpegs[i]);
            // Warm-up: the JIT's tiers settle and the buffers reach their largest.
            Measure(processor, jpegs, 1, 3.0, Work.Views);
            Measure(processor, jpegs, 1, 0.5, Work.Decode);
            Measure(fullDecode, jpegs, 1, 0.5, Work.Views);
            for (int r = 0; r < rounds; r++)
            {
                // The peers first, then half a second of ours unmeasured: the first run after the peers' processes
                // (caches and memory theirs) is otherwise the slow one of the round.
                double tv = RunPeer(torchvision, dir);
                double cv = RunPeer(opencv, dir);
                Measure(processor, jpegs, 1, 0.5, Work.Views);
                var (one, bytes) = Measure(processor, jpegs, 1, seconds / rounds, Work.Views);
                var (decodeOnly, _) = Measure(processor, jpegs, 1, seconds / rounds, Work.Decode);
                double twoRate = two ? Measure(processor, jpegs, 2, seconds / rounds, Work.Views).Rate : double.NaN;
                var (full, _) = Measure(fullDecode, jpegs, 1, seconds / rounds, Work.Views);
                allocated = Math.Max(allocated, bytes);
                double decodeUs = 1e6 / decodeOnly, viewUs = (1e6 / one - decodeUs) / 2;
                Add("ours, 1 thread, images/s", one);
                if (two) Add("ours, 2 threads, images/s", twoRate);
                Add("ours, 1 thread, full decode (DecodeScaling false), images/s", full);
                Add("decode, µs an image", decodeUs);
                Add("a view, µs (whole minus decode, halved)", viewUs);
                Add("two views ÷ one decode", 2 * viewUs / decodeUs);
                Add("peer torchvision + Pillow, 1 core, images/s", tv);
                Add("peer OpenCV uint8, 1 core, images/s", cv);
                Add("ratio to torchvision (1 core)", one / tv);
                Add("ratio to OpenCV (1 core)", one / cv);
                if (two) Add("2 threads / 1 thread", twoRate / one);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"round {r + 1}: ours {one:F0}/s on 1 thread{(two ? $", {twoRate:F0}/s on 2" : "")}, {full:F0}/s without DCT scaling; decode {decodeUs:F0} µs, a view {viewUs:F0} µs; " +
                    $"torchvision {tv:F1}/s ({one / tv:F1}x), OpenCV {cv:F1}/s ({one / cv:F2}x); {bytes:F1} B allocated an image"));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        Console.WriteLine();
        Console.WriteLine("| measure | median | rounds min–max |");
        Console.WriteLine("|---|---|---|");
        foreach (var (name, list) in results)
        {
            var sorted = list.Order().ToList();
            string format = name.StartsWith("ratio", StringComparison.Ordinal) || name.Contains('÷') || name == "2 threads / 1 thread" ? "F2" : "F1";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {sorted[sorted.Count / 2].ToString(format, CultureInfo.InvariantCulture)} | {sorted[0].ToString(format, CultureInfo.InvariantCulture)}–{sorted[^1].ToString(format, CultureInfo.InvariantCulture)} |"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| managed bytes allocated an image (1 thread, steady state, largest round) | {allocated:F1} | |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| images decoded DCT-scaled (epoch 0's two views) | {scaledShare:P1} | |"));

        void Add(string name, double value)
        {
            if (!results.TryGetValue(name, out var list)) results[name] = list = [];
            list.Add(value);
        }
    }

    private enum Work
    {
        /// <summary>Decode and two views.</summary>
        Views,

        /// <summary>The decode alone.</summary>
        Decode,
    }

    /// <summary>The share of the images for which both views' crops allow a DCT-scaled decode (epoch 0, seed 0).</summary>
    private static double ScaledShare(byte[][] jpegs, SimClrViewPolicy policy)
    {
        using var decoder = new TurboJpegDecoder();
        var pixels = new PixelBuffer();
        int scaled = 0;
        for (int i = 0; i < jpegs.Length; i++)
        {
            decoder.Decode(jpegs[i], pixels);
            var (w, h) = policy.DecodeSize(pixels.Width, pixels.Height, 0, 0, i);
            if (w * 2 <= pixels.Width && h * 2 <= pixels.Height) scaled++;
        }
        return (double)scaled / jpegs.Length;
    }

    /// <summary>
    /// Images a second over <paramref name="threads"/> threads, each with its own worker taking every threads-th image, and
    /// the managed bytes the first thread allocated an image.
    /// </summary>
    private static (double Rate, double Allocated) Measure(ImageSampleProcessor processor, byte[][] jpegs, int threads, double seconds, Work work)
    {
        var workers = Enumerable.Range(0, threads).Select(_ => processor.CreateWorker()).ToArray();
        var slots = Enumerable.Range(0, threads).Select(_ => new byte[2 * processor.ViewBytes]).ToArray();
        var counts = new long[threads];
        double allocated = 0;
        using var start = new Barrier(threads + 1);
        var stop = new ManualResetEventSlim();
        var clock = new Stopwatch();
        var pool = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            var worker = workers[t];
            var slot = slots[t];
            int view = processor.ViewBytes;
            // Warm this worker's buffers to their largest before the clock starts.
            for (int i = t; i < jpegs.Length; i += threads) Augment(worker, jpegs[i], i, slot, view, work);
            start.SignalAndWait();
            long n = 0, before = GC.GetAllocatedBytesForCurrentThread();
            while (!stop.IsSet)
            {
                for (int i = t; i < jpegs.Length && !stop.IsSet; i += threads, n++) Augment(worker, jpegs[i], i, slot, view, work);
            }
            counts[t] = n;
            if (t == 0) allocated = (double)(GC.GetAllocatedBytesForCurrentThread() - before) / Math.Max(1, n);
        }) { IsBackground = true }).ToArray();
        foreach (var thread in pool) thread.Start();
        start.SignalAndWait();
        clock.Start();
        Thread.Sleep(TimeSpan.FromSeconds(seconds));
        stop.Set();
        foreach (var thread in pool) thread.Join();
        clock.Stop();
        foreach (var w in workers) (w as IDisposable)?.Dispose();
        return (counts.Sum() / clock.Elapsed.TotalSeconds, allocated);
    }

    private static byte[][] Generated(string source, int count)
    {
        if (source == "generated") return DecodeBenchmark.Generate(count);
        var size = source["generated:".Length..].Split('x');
        return DecodeBenchmark.Generate(count, int.Parse(size[0], CultureInfo.InvariantCulture), int.Parse(size[1], CultureInfo.InvariantCulture));
    }

    private static void Augment(ISampleWorker worker, byte[] jpeg, long index, byte[] slot, int viewBytes, Work work)
    {
        worker.Prepare(jpeg, 0, 0, index);
        if (work == Work.Decode) return;
        worker.WriteView(0, 0, 0, index, slot.AsSpan(0, viewBytes));
        worker.WriteView(1, 0, 0, index, slot.AsSpan(viewBytes, viewBytes));
    }

    private static string FindPeer(string name)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, "shared", "peers", name);
            if (File.Exists(candidate)) return candidate;
            candidate = Path.Combine(d.FullName, "..", "shared", "peers", name);
            if (File.Exists(candidate)) return Path.GetFullPath(candidate);
        }
        throw new FileNotFoundException($"../shared/peers/{name} was not found above " + AppContext.BaseDirectory);
    }

    private static double RunPeer(string script, string dir)
    {
        // One core for the peer: taskset -c 0 where it is installed (it is part of util-linux).
        bool taskset = File.Exists("/usr/bin/taskset");
        var psi = new ProcessStartInfo(taskset ? "/usr/bin/taskset" : Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (taskset) foreach (var a in new[] { "-c", "0", Python }) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add(dir);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {Python}");
        string stdout = process.StandardOutput.ReadToEnd();
        string stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        // "...: 43.1 images/s"
        int colon = stdout.LastIndexOf(':');
        if (process.ExitCode != 0 || colon < 0)
            throw new InvalidOperationException($"{Path.GetFileName(script)} failed (exit {process.ExitCode}; python3-torchvision and python3-opencv installed?): {stderr.Trim()} {stdout.Trim()}");
        string rate = stdout[(colon + 1)..].Trim().Split(' ')[0];
        return double.Parse(rate, CultureInfo.InvariantCulture);
    }
}
