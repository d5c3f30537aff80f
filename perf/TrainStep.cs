using System.Diagnostics;
using Contrastive.Batching;
using Contrastive.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Perf;

/// <summary>
/// The SimCLR training step side by side with ../shared/peers/peer_pytorch_step.py: ResNet-18 (ImageNet stem) + a
/// 512-2048-128 projection head, NT-Xent (T = 0.5), SGD momentum 0.9 (lr 0.1, weight decay 1e-6), on a 2 × B batch of
/// S-pixel views, T torch threads; prints the median step time over the timed steps after two warm-up steps.
/// Our step also converts the uint8 batch to normalised floats, as training does (the peer starts from floats).
/// usage: train-step [BATCH=64] [SIZE=96] [THREADS=2] [STEPS=10] [ENCODER=resnet18] [STEM=imagenet|small] [PRECISION=fp32|bf16]
/// Also prints the process's peak working set, for the largest batch a device's memory holds (README).
/// </summary>
public static class TrainStep
{
    public static async Task RunAsync(string[] args)
    {
        int[] a = [64, 96, 2, 10];
        for (int i = 0; i < Math.Min(args.Length, 4); i++) a[i] = int.Parse(args[i], System.Globalization.CultureInfo.InvariantCulture);
        var (b, s, threads, steps) = (a[0], a[1], a[2], a[3]);
        string encoder = args.Length > 4 ? args[4] : "resnet18";
        bool small = args.Length > 5 && args[5] == "small";
        string precision = args.Length > 6 ? args[6] : "fp32";
        var compute = new TrainingOptions { Precision = precision }.ComputeType(CPU);
        torch.set_num_threads(threads);
        torch.manual_seed(0);
        using var model = new ProjectedEncoder(encoder, smallImages: small, projectionHidden: encoder == "convnet" ? 256 : 2048, projectionDim: 128);
        using var opt = StepOptimizer.Create("sgd", model, 0.1, 1e-6);
        var loss = new NtXentLoss(0.5);
        using var pool = new BatchPool(1, 2, b, s);
        using var lease = await pool.RentAsync(default);
        new Random(0).NextBytes(lease.Batch.Pixels);
        typeof(Batch).GetProperty(nameof(Batch.Count))!.SetValue(lease.Batch, b);
        var times = new List<double>();
        model.train();
        for (int i = 0; i < steps + 2; i++)
        {
            if (torch.get_num_threads() != threads) torch.set_num_threads(threads);
            long t0 = Stopwatch.GetTimestamp();
            using (var scope = NewDisposeScope())
            using (Autocast.Enter(compute))
            {
                var x = ImageInput.ToTensor(lease.Batch, CPU);
                var z = model.forward(x);
                var l = loss.Compute(z.narrow(0, 0, b), z.narrow(0, b, b));
                opt.ZeroGrad();
                l.backward();
                opt.Step();
            }
            if (i >= 2) times.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        }
        times.Sort();
        double median = times.Count % 2 == 1 ? times[times.Count / 2] : (times[times.Count / 2 - 1] + times[times.Count / 2]) / 2;
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        string what = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"TorchSharp {typeof(torch).Assembly.GetName().Version} SimCLR {encoder}{(small ? " (small stem)" : "")} step, batch 2x{b} at {s}px, {threads} threads, {precision}");
        Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{what}: median {median:F0} ms (min {times[0]:F0}, max {times[^1]:F0}); peak working set {process.PeakWorkingSet64 / 1048576.0:F0} MiB"));
    }
}
