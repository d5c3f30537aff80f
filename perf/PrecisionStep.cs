using System.Diagnostics;
using System.Globalization;
using Contrastive.Batching;
using Contrastive.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Perf;

/// <summary>
/// fp32 against bf16 on the same SimCLR step, alternated step by step in one process so that a noisy machine's drift
/// falls on both alike: the training defaults (small-image stem, projection hidden width the encoder's feature size,
/// output 128, NT-Xent T 0.5, AdamW 1e-3 with weight decay 1e-4) on a 2 × B batch of S-pixel views, T torch threads.
/// For each encoder it prints the median fp32 and bf16 step and the median of the per-pair ratios (fp32 ÷ bf16: above
/// 1, bf16 is faster). What --precision auto's rule per encoder (<see cref="PrecisionChoice"/>) was decided from.
/// usage: precision [ENCODERS=convnet,resnet18] [BATCH=128] [SIZE=32] [THREADS=2] [PAIRS=15]
/// </summary>
public static class PrecisionStep
{
    public static async Task RunAsync(string[] args)
    {
        var ic = CultureInfo.InvariantCulture;
        string[] encoders = (args.Length > 0 ? args[0] : "convnet,resnet18").Split(',');
        int[] a = [128, 32, 2, 15];
        for (int i = 1; i < Math.Min(args.Length, 5); i++) a[i - 1] = int.Parse(args[i], ic);
        var (b, s, threads, pairs) = (a[0], a[1], a[2], a[3]);
        Console.WriteLine(string.Create(ic, $"CPU bf16: {CpuBf16.Detect().Describe()}; batch 2x{b} at {s}px, {threads} threads, {pairs} pairs after one warm-up pair"));
        foreach (string encoder in encoders)
        {
            torch.set_num_threads(threads);
            torch.manual_seed(0);
            using var model = new ProjectedEncoder(encoder, smallImages: true, projectionHidden: ImageModels.ProjectionHidden(encoder), projectionDim: 128);
            using var opt = StepOptimizer.Create("adamw", model, 1e-3, 1e-4);
            var loss = new NtXentLoss(0.5);
            using var pool = new BatchPool(1, 2, b, s);
            using var lease = await pool.RentAsync(default);
            new Random(0).NextBytes(lease.Batch.Pixels);
            typeof(Batch).GetProperty(nameof(Batch.Count))!.SetValue(lease.Batch, b);
            model.train();
            double Step(ScalarType? compute)
            {
                if (torch.get_num_threads() != threads) torch.set_num_threads(threads);
                long t0 = Stopwatch.GetTimestamp();
                using (NewDisposeScope())
                using (Autocast.Enter(compute))
                {
                    var x = ImageInput.ToTensor(lease.Batch, CPU);
                    var z = model.forward(x);
                    var l = loss.Compute(z.narrow(0, 0, b), z.narrow(0, b, b));
                    opt.ZeroGrad();
                    l.backward();
                    opt.Step();
                }
                return Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            }
            var fp32 = new List<double>();
            var bf16 = new List<double>();
            var ratios = new List<double>();
            for (int i = 0; i <= pairs; i++)
            {
                // Alternate which goes first, so neither always follows the other's cache state.
                double f, h;
                if (i % 2 == 0) { f = Step(null); h = Step(ScalarType.BFloat16); }
                else { h = Step(ScalarType.BFloat16); f = Step(null); }
                if (i == 0) continue; // warm-up pair
                fp32.Add(f);
                bf16.Add(h);
                ratios.Add(f / h);
            }
            Console.WriteLine(string.Create(ic,
                $"{encoder}: fp32 median {Median(fp32):F0} ms (min {fp32.Min():F0}), bf16 median {Median(bf16):F0} ms (min {bf16.Min():F0}); fp32/bf16 per pair: median {Median(ratios):F2}x (range {ratios.Min():F2}-{ratios.Max():F2})"));
        }
    }

    private static double Median(List<double> values)
    {
        var v = values.Order().ToArray();
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }
}
