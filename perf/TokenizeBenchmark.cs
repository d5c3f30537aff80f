using System.Diagnostics;
using Contrastive.Ingest;
using Contrastive.Training.Text;

namespace Contrastive.Perf;

/// <summary>
/// The caption tokenizer alone on one thread, as a pipeline worker calls it (UTF-8 bytes into a 77-id row):
/// `tokenize DATA [SECONDS=5] [ROUNDS=3]` reads every caption of DATA (at most 100,000) and encodes them in stored order,
/// over and over, reporting µs and bytes allocated per caption for each round.
/// </summary>
public static class TokenizeBenchmark
{
    public static async Task RunAsync(string[] args)
    {
        string data = args[0];
        double seconds = args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5;
        int rounds = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3;
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
        var row = new int[encoder.Context];
        long ids = 0;
        foreach (var c in captions) ids += encoder.EncodeUtf8Into(c, row); // warm-up: the first pass fills the tokenizer's caches
        Console.WriteLine($"{captions.Count} captions of {data}, {captions.Average(c => c.Length):F1} bytes and {(double)ids / captions.Count:F2} ids each on average ({encoder.Name}, context {encoder.Context})");
        for (int r = 0; r < rounds; r++)
        {
            long n = 0, a0 = GC.GetAllocatedBytesForCurrentThread();
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                foreach (var c in captions) encoder.EncodeUtf8Into(c, row);
                n += captions.Count;
            }
            double us = clock.Elapsed.TotalMilliseconds * 1000 / n;
            Console.WriteLine($"round {r + 1}: {us:F2} µs per caption ({1e6 / us:F0} captions/s on one thread), {(double)(GC.GetAllocatedBytesForCurrentThread() - a0) / n:F0} B allocated per caption");
        }
    }
}
