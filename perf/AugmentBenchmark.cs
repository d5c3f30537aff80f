using System.Diagnostics;
using System.Globalization;
using Contrastive.Augment;
using Contrastive.Batching;

namespace Contrastive.Perf;

/// <summary>
/// `dotnet run -c Release --project perf -- augment [generated[:WxH]|DIR] [N=200] [SECONDS=10] [ROUNDS=5]`: the Augment issue's
/// two-view benchmark. Per source image: decode with the default decoder, then two SimCLR views at 224 px (crop scale
/// 0.08–1, ratio 3/4–4/3, flip 0.5, ColorJitter(0.8, 0.8, 0.8, 0.2) with p 0.8 in random order, grayscale 0.2,
/// Gaussian blur k 23, σ 0.1–2, p 0.5) written as uint8 into a batch slot, through the pipeline's own sample worker.
/// Generated images are 400×300 quality-95 JPEGs unless WxH says otherwise. Measured on one thread and on two (a worker
/// each), with the managed bytes allocated an image, and on one thread with DCT-scaled decoding turned off
/// (Augment:DecodeScaling false; the same as on when no crop is reduced 2× or more); each round also runs
/// ../shared/peers/peer_torchvision_aug.py (torchvision + Pillow, one core) on the same files. Median round reported.
/// </summary>
public static class AugmentBenchmark
{
    private const string Python = "/usr/bin/python3";

    public static void Run(string[] args)
    {
        string source = args.Length > 0 ? args[0] : "generated";
        int count = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 200;
        double seconds = args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 10;
        int rounds = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 5;
        byte[][] jpegs = source.StartsWith("generated", StringComparison.Ordinal) ? Generated(source, count) : DecodeBenchmark.Load(source, count);
        if (jpegs.Length == 0) throw new InvalidOperationException($"no JPEG files in {source}");
        string peer = FindPeer();

        var options = new AugmentOptions { Size = 224, ScaleMin = 0.08, JitterStrength = 1.0 };
        var processor = new ImageSampleProcessor(new SimClrViewPolicy(options));
        var fullDecode = new ImageSampleProcessor(new SimClrViewPolicy(new AugmentOptions { Size = 224, ScaleMin = 0.08, JitterStrength = 1.0, DecodeScaling = false }));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{jpegs.Length} JPEGs from {source}, {jpegs.Average(j => j.Length) / 1024.0:F1} KB on average; decoder {processor.Name}; " +
            $"two 224-px SimCLR views an image; {Environment.ProcessorCount} cores; vector width {System.Numerics.Vector<float>.Count} floats; " +
            $"{rounds} rounds of {seconds / rounds:F1} s a configuration"));

        var results = new Dictionary<string, List<double>>();
        double allocated = 0;
        string dir = Path.Combine(Path.GetTempPath(), $"contrastive-augment-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            for (int i = 0; i < jpegs.Length; i++) File.WriteAllBytes(Path.Combine(dir, $"{i:D5}.jpg"), jpegs[i]);
            Measure(processor, jpegs, 1, 1.0); // warm-up: JIT, buffers at their largest
            Measure(fullDecode, jpegs, 1, 0.5);
            for (int r = 0; r < rounds; r++)
            {
                var (one, bytes) = Measure(processor, jpegs, 1, seconds / rounds);
                var (two, _) = Measure(processor, jpegs, 2, seconds / rounds);
                var (full, _) = Measure(fullDecode, jpegs, 1, seconds / rounds);
                double peerRate = RunPeer(peer, dir);
                allocated = Math.Max(allocated, bytes);
                Add("ours, 1 thread", one);
                Add("ours, 2 threads", two);
                Add("ours, 1 thread, full decode", full);
                Add("peer, 1 core", peerRate);
                Add("ratio to peer (1 core)", one / peerRate);
                Add("2 threads / 1 thread", two / one);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"round {r + 1}: ours {one:F0}/s on 1 thread, {two:F0}/s on 2, {full:F0}/s without DCT scaling; peer {peerRate:F1}/s; ratio {one / peerRate:F1}x; scaling {two / one:F2}x; {bytes:F1} B allocated an image"));
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
            string format = name.Contains("ratio", StringComparison.Ordinal) || name.Contains('/') ? "F2" : "F1";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {sorted[sorted.Count / 2].ToString(format, CultureInfo.InvariantCulture)} | {sorted[0].ToString(format, CultureInfo.InvariantCulture)}–{sorted[^1].ToString(format, CultureInfo.InvariantCulture)} |"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| managed bytes allocated an image (1 thread, steady state, largest round) | {allocated:F1} | |"));

        void Add(string name, double value)
        {
            if (!results.TryGetValue(name, out var list)) results[name] = list = [];
            list.Add(value);
        }
    }

    /// <summary>
    /// Images a second over <paramref name="threads"/> threads, each with its own worker taking every threads-th image, and
    /// the managed bytes the first thread allocated an image.
    /// </summary>
    private static (double Rate, double Allocated) Measure(ImageSampleProcessor processor, byte[][] jpegs, int threads, double seconds)
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
            for (int i = t; i < jpegs.Length; i += threads) Augment(worker, jpegs[i], i, slot, view);
            start.SignalAndWait();
            long n = 0, before = GC.GetAllocatedBytesForCurrentThread();
            while (!stop.IsSet)
            {
                for (int i = t; i < jpegs.Length && !stop.IsSet; i += threads, n++) Augment(worker, jpegs[i], i, slot, view);
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

    private static void Augment(ISampleWorker worker, byte[] jpeg, long index, byte[] slot, int viewBytes)
    {
        worker.Prepare(jpeg, 0, 0, index);
        worker.WriteView(0, 0, 0, index, slot.AsSpan(0, viewBytes));
        worker.WriteView(1, 0, 0, index, slot.AsSpan(viewBytes, viewBytes));
    }

    private static string FindPeer()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, "shared", "peers", "peer_torchvision_aug.py");
            if (File.Exists(candidate)) return candidate;
            candidate = Path.Combine(d.FullName, "..", "shared", "peers", "peer_torchvision_aug.py");
            if (File.Exists(candidate)) return Path.GetFullPath(candidate);
        }
        throw new FileNotFoundException("../shared/peers/peer_torchvision_aug.py was not found above " + AppContext.BaseDirectory);
    }

    private static double RunPeer(string script, string dir)
    {
        var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add(dir);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {Python}");
        string stdout = process.StandardOutput.ReadToEnd();
        string stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        // "...: 43.1 images/s"
        int colon = stdout.LastIndexOf(':');
        if (process.ExitCode != 0 || colon < 0)
            throw new InvalidOperationException($"the peer failed (exit {process.ExitCode}; python3-torchvision installed?): {stderr.Trim()} {stdout.Trim()}");
        string rate = stdout[(colon + 1)..].Trim().Split(' ')[0];
        return double.Parse(rate, CultureInfo.InvariantCulture);
    }
}
