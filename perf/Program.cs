using BenchmarkDotNet.Running;

namespace Contrastive.Perf;

/// <summary>
/// Benchmarks: dotnet run -c Release --project perf -- --filter '*'
/// (BenchmarkDotNet's own arguments: --filter, --job short, ...);
/// allocation breakdown: dotnet run -c Release --project perf -- pipeline-alloc DIR [SIZE] [WORKERS] [SECONDS];
/// upload shards for an object-storage bench: dotnet run -c Release --project perf -- s3-upload DIR s3://bucket/prefix;
/// the SimCLR step against the PyTorch peer: dotnet run -c Release --project perf -- train-step [BATCH] [SIZE] [THREADS] [STEPS];
/// fp32 against bf16, step by step, per encoder at the training defaults: dotnet run -c Release --project perf -- precision [ENCODERS] [BATCH] [SIZE] [THREADS] [PAIRS];
/// JPEG decoders (skia, imagesharp, turbojpeg, Pillow) on one thread: dotnet run -c Release --project perf -- decode [generated|DIR] [N] [SECONDS] [ROUNDS];
/// data-parallel cost (gradient all-reduce alone and its share of a ResNet-18 step; run alone and under mpirun):
///   dotnet run -c Release --project perf -- allreduce [BATCH] [SIZE] [THREADS] [STEPS];
/// decode + two 224-px SimCLR views against the torchvision and OpenCV peers (one core: under taskset -c 0), with decode and view times:
///   [taskset -c 0] dotnet run -c Release --project perf -- augment [generated|DIR] [N] [SECONDS] [ROUNDS];
/// each pass of a view (and the decode with TurboJPEG's fast flags) alone, µs a call: dotnet run -c Release --project perf -- augment-stages [generated|DIR] [N] [SIZE];
/// captioned Fashion-MNIST (HF-schema Parquet with a text column, classes.txt, templates.txt) for the CLIP zero-shot benchmark:
///   dotnet run -c Release --project perf -- fmnist-captions /usr/share/datasets/fashion-mnist OUTDIR;
/// the caption tokenizer alone on one thread (µs and bytes per caption): dotnet run -c Release --project perf -- tokenize DATA [SECONDS] [ROUNDS] [THREADS=1,2].
/// </summary>
public static class Program
{
    public static async Task Main(string[] args)
    {
        if (args.Length > 2 && args[0] == "s3-upload")
        {
            await S3Upload.RunAsync(args[1], args[2]);
            return;
        }
        if (args.Length > 0 && args[0] == "train-step")
        {
            await TrainStep.RunAsync(args[1..]);
            return;
        }
        if (args.Length > 0 && args[0] == "precision")
        {
            await PrecisionStep.RunAsync(args[1..]);
            return;
        }
        if (args.Length > 0 && args[0] == "allreduce")
        {
            await DataParallelBenchmark.RunAsync(args[1..]);
            return;
        }
        if (args.Length > 0 && args[0] == "decode")
        {
            DecodeBenchmark.Run(args[1..]);
            return;
        }
        if (args.Length > 0 && args[0] == "augment")
        {
            AugmentBenchmark.Run(args[1..]);
            return;
        }
        if (args.Length > 0 && args[0] == "augment-stages")
        {
            AugmentStages.Run(args[1..]);
            return;
        }
        if (args.Length > 0 && args[0] == "fmnist-captions")
        {
            await FmnistCaptions.RunAsync(args[1..]);
            return;
        }
        if (args.Length > 1 && args[0] == "tokenize")
        {
            await TokenizeBenchmark.RunAsync(args[1..]);
            return;
        }
        if (args.Length > 1 && args[0] == "pipeline-alloc")
        {
            await PipelineAllocation.RunAsync(args[1..]);
            return;
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
