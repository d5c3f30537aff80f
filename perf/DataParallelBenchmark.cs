using System.Diagnostics;
using System.Globalization;
using Contrastive.Batching;
using Contrastive.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Perf;

/// <summary>
/// The cost of data parallelism on this machine: a SimCLR ResNet-18 (ImageNet stem) trainer on a synthetic 2 × B batch
/// of S-pixel views, T torch threads per rank. Measures (1) the gradient all-reduce alone (DataParallel.AverageGradients
/// over every parameter, the whole flattened buffer) and (2) full training steps with the share spent in that all-reduce.
/// Run alone (one process: no communication) and under mpirun for several ranks:
///   dotnet run -c Release --project perf -- allreduce [BATCH=32] [SIZE=64] [THREADS=1] [STEPS=8]
///   mpirun -np 2 --bind-to none dotnet perf/bin/Release/net10.0/Contrastive.Perf.dll allreduce 32 64 1 8
/// Each rank prints one line; medians over the timed steps after two warm-up steps.
/// </summary>
public static class DataParallelBenchmark
{
    public static async Task RunAsync(string[] args)
    {
        int[] a = [32, 64, 1, 8];
        for (int i = 0; i < Math.Min(args.Length, 4); i++) a[i] = int.Parse(args[i], CultureInfo.InvariantCulture);
        var (b, s, threads, steps) = (a[0], a[1], a[2], a[3]);
        var launch = LaunchEnvironment.Detect(Environment.GetEnvironmentVariable);
        using IProcessGroup group = launch.Distributed ? MpiProcessGroup.Open(launch) : SingleProcessGroup.Instance;
        torch.set_num_threads(threads);
        var registration = MethodRegistry.Get("simclr");
        var training = new TrainingOptions { Method = "simclr", Encoder = "resnet18", Stem = "imagenet", Threads = threads, Optimizer = "sgd" };
        using var trainer = new ContrastiveTrainer(registration, new MethodContext(training, registration.NewOptions(), CPU, s) { Group = group }, b);
        long values = trainer.Method.Parameters.Sum(p => p.numel());

        using var pool = new BatchPool(1, 2, b, s);
        using var lease = await pool.RentAsync(default);
        new Random(group.Rank).NextBytes(lease.Batch.Pixels);
        lease.Batch.Count = b;

        var stepMs = new List<double>();
        var commMs = new List<double>();
        for (int i = 0; i < steps + 2; i++)
        {
            double before = trainer.CommunicationSeconds;
            long t0 = Stopwatch.GetTimestamp();
            trainer.TrainStep(lease.Batch, 0.5);
            if (i < 2) continue;
            stepMs.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            commMs.Add((trainer.CommunicationSeconds - before) * 1000);
        }

        // The all-reduce alone, on the gradients the last step left.
        var alone = new List<double>();
        using (var parallel = new DataParallel(group, trainer.Method.Parameters))
        {
            for (int i = 0; i < steps + 2; i++)
            {
                group.Barrier();
                long t0 = Stopwatch.GetTimestamp();
                parallel.AverageGradients(1.0);
                if (i >= 2) alone.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            }
        }
        double step = Median(stepMs), comm = Median(commMs), reduce = Median(alone);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"rank {group.Rank} of {group.WorldSize} ({group.Backend}): ResNet-18 SimCLR, {values:N0} gradient values ({values * 4 / 1e6:F1} MB), batch 2x{b} at {s}px, {threads} thread(s): " +
            $"all-reduce alone median {reduce:F1} ms (min {alone.Min():F1}, max {alone.Max():F1}); step median {step:F0} ms, of which all-reduce {comm:F1} ms ({(step > 0 ? comm / step : 0):P1}); " +
            $"{group.WorldSize * b / (step / 1000):F1} samples/s over all ranks"));
    }

    private static double Median(List<double> v)
    {
        if (v.Count == 0) return 0;
        var sorted = v.OrderBy(x => x).ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
