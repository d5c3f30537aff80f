using System.Diagnostics;
using Contrastive.Ingest;
using Contrastive.Training.Text;
using Microsoft.ML.Tokenizers;

namespace Contrastive.Perf;

/// <summary>
/// The caption tokenizer alone, as pipeline workers call it (UTF-8 bytes into a 77-id row), against the library call it
/// wraps (<c>TiktokenTokenizer.EncodeToIds</c> of the cleaned caption, cut at 75 ids):
/// `tokenize DATA [SECONDS=5] [ROUNDS=3] [THREADS=1,2]` reads every caption of DATA (at most 100,000) and has each thread
/// encode all of them in turn for SECONDS, reporting captions/s over all threads, the process's CPU µs per caption and
/// bytes allocated per caption (a lock the threads queue on shows as fewer captions/s for the same CPU).
/// </summary>
public static class TokenizeBenchmark
{
    public static async Task RunAsync(string[] args)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        string data = args[0];
        double seconds = args.Length > 1 ? double.Parse(args[1], inv) : 5;
        int rounds = args.Length > 2 ? int.Parse(args[2], inv) : 3;
        int[] threadCounts = args.Length > 3 ? args[3].Split(',').Select(t => int.Parse(t, inv)).ToArray() : [1, 2];
        var captions = new List<byte[]>();
        var ds = await ImageDataset.OpenAsync(data);
        await foreach (var chunk in ds.ReadAsync(new ReadPlan(0, 0, Shuffle: false, HoldoutSplit.None) { Captions = true }))
        {
            using (chunk)
            {
                for (int i = 0; i < chunk.Count && captions.Count < 100_000; i++) captions.Add(chunk.Captions![i].ToArray());
            }
        }
        ICaptionEncoder encoder = new CaptionTokenizer();
        var library = TiktokenTokenizer.CreateForModel("gpt2");
        int context = encoder.Context;
        var row = new int[context];
        long ids = 0;
        foreach (var c in captions) ids += encoder.EncodeUtf8Into(c, row); // warm-up: the first pass fills the caches
        Console.WriteLine($"{captions.Count} captions of {data}, {captions.Average(c => c.Length):F1} bytes and {(double)ids / captions.Count:F2} ids each on average ({encoder.Name}, context {context}), {Environment.ProcessorCount} cores");

        // The library's call as CaptionTokenizer made it before its piece cache: clean, then EncodeToIds cut at context - 2.
        void Library(byte[] utf8, int[] scratch, char[] chars)
        {
            int n = System.Text.Encoding.UTF8.GetChars(utf8, chars);
            int m = CaptionTokenizer.Clean(chars.AsSpan(0, n), chars.AsSpan(n, n));
            var list = library.EncodeToIds(chars.AsSpan(n, m), context - 2, out _, out _);
            for (int i = 0; i < list.Count; i++) scratch[i] = list[i];
        }
        var variants = new (string Name, Action<byte[], int[], char[]> Encode)[]
        {
            ("library EncodeToIds", Library),
            ("CaptionTokenizer", (utf8, scratch, _) => encoder.EncodeUtf8Into(utf8, scratch)),
        };
        using var process = Process.GetCurrentProcess();
        for (int r = 0; r < rounds; r++)
        {
            foreach (int threads in threadCounts)
            {
                foreach (var (name, encode) in variants)
                {
                    long done = 0;
                    process.Refresh();
                    var cpu0 = process.TotalProcessorTime;
                    long alloc0 = GC.GetTotalAllocatedBytes(precise: true);
                    var clock = Stopwatch.StartNew();
                    var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
                    {
                        var scratch = new int[context];
                        var chars = new char[2 * captions.Max(c => c.Length) + 2];
                        long n = 0;
                        while (clock.Elapsed.TotalSeconds < seconds)
                        {
                            for (int i = 0; i < captions.Count; i++) encode(captions[(i + t * 997) % captions.Count], scratch, chars);
                            n += captions.Count;
                        }
                        Interlocked.Add(ref done, n);
                    })).ToList();
                    workers.ForEach(w => w.Start());
                    workers.ForEach(w => w.Join());
                    double wall = clock.Elapsed.TotalSeconds;
                    process.Refresh();
                    double cpuUs = (process.TotalProcessorTime - cpu0).TotalMilliseconds * 1000 / done;
                    double bytes = (double)(GC.GetTotalAllocatedBytes(precise: true) - alloc0) / done;
                    Console.WriteLine($"round {r + 1}, {threads} thread(s), {name,-20}: {done / wall,9:F0} captions/s, {cpuUs:F2} µs CPU and {bytes:F0} B allocated per caption");
                }
            }
        }
    }
}
