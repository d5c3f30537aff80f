using System.Diagnostics;
using System.Globalization;
using Contrastive.Batching;
using Contrastive.Ingest;

namespace Contrastive.Host;

internal sealed partial class BenchRun
{
    /// <summary>What the sampling loop saw: the window's ends and the process's memory, CPU and queues over it.</summary>
    private sealed class Window
    {
        public PipelineSnapshot? Start;
        public PipelineSnapshot End;
        public long AllocStart, AllocEnd, SamplerAlloc;
        public double WorkingSetStartMb, WorkingSetEndMb, PeakMb;
        public TimeSpan Cpu;
        public List<double> Series = [], HeapSeries = [];
        public double ChunkSum, WorkerSum, PrefetchSum;
        public int Samples;
    }

    /// <summary>
    /// Samples the pipeline every 250 ms through the warm-up and the measured window: memory, CPU and queue occupancy, a
    /// live display on a terminal (else a line every 5 s). A consumer that ends early surfaces its fault here.
    /// </summary>
    private async Task<Window> MeasureAsync(InputPipeline pipeline, Task consumer, CancellationToken ct)
    {
        using var process = Process.GetCurrentProcess();
        double Mb() { process.Refresh(); return process.WorkingSet64 / 1e6; }
        var w = new Window();
        var clock = Stopwatch.StartNew();
        var cpuStart = TimeSpan.Zero; // the process's CPU time when the window opened
        double nextSeries = Warmup;
        var lastPrint = pipeline.Stats.Snapshot();
        using var live = display?.Start($"bench {settings.Uri}", Warmup + Seconds);
        bool wholeEpochs = settings.Bench.Epochs > 0;
        if (wholeEpochs)
        {
            // Whole epochs: the window is the whole read, from the first batch's request to the last.
            w.Start = pipeline.Stats.Snapshot();
            windowStarted?.Invoke();
            w.AllocStart = GC.GetTotalAllocatedBytes(precise: true);
            w.WorkingSetStartMb = Mb();
            cpuStart = process.TotalProcessorTime;
        }
        while ((wholeEpochs || clock.Elapsed.TotalSeconds < Warmup + Seconds) && !consumer.IsCompleted)
        {
            await Task.WhenAny(Task.Delay(250, ct), consumer).ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
            long mine = GC.GetAllocatedBytesForCurrentThread(); // what this loop allocates itself (reading /proc, formatting) is not the pipeline's
            double t = clock.Elapsed.TotalSeconds;
            var now = pipeline.Stats.Snapshot();
            if (w.Start is null && t >= Warmup)
            {
                w.Start = now;
                windowStarted?.Invoke();
                w.AllocStart = GC.GetTotalAllocatedBytes(precise: true);
                w.WorkingSetStartMb = Mb();
                cpuStart = process.TotalProcessorTime;
            }
            if (w.Start is not null)
            {
                double ws = Mb();
                w.PeakMb = Math.Max(w.PeakMb, ws);
                if (t >= nextSeries)
                {
                    w.Series.Add(Math.Round(ws, 1));
                    w.HeapSeries.Add(Math.Round(GC.GetGCMemoryInfo().HeapSizeBytes / 1e6, 1));
                    nextSeries += SeriesSeconds;
                }
                (w.ChunkSum, w.WorkerSum, w.PrefetchSum) = (w.ChunkSum + now.Queues.Chunks, w.WorkerSum + now.Queues.WorkerInput, w.PrefetchSum + now.Queues.Prefetch);
                w.Samples++;
            }
            if (live is not null && (now.Elapsed - lastPrint.Elapsed).TotalSeconds >= 1)
            {
                var interval = now.Since(lastPrint);
                live.Update(t, string.Create(CultureInfo.InvariantCulture,
                    $"{(w.Start is null ? "warm-up" : "measuring")} · {interval.SamplesDone / Math.Max(1e-9, interval.Elapsed.TotalSeconds):F0} images/s · decode {interval.DecodeMillisecondsEach:F2} ms · working set {Mb():F0} MB"));
                lastPrint = now;
            }
            else if (live is null && (now.Elapsed - lastPrint.Elapsed).TotalSeconds >= 5)
            {
                progress.WriteLine($"{t,6:F0} s  {now.Since(lastPrint).Summary()} | working set {Mb():F0} MB | {BenchPrinter.GcSummary()}");
                lastPrint = now;
            }
            if (w.Start is not null) w.SamplerAlloc += GC.GetAllocatedBytesForCurrentThread() - mine;
        }
        if (consumer.IsCompleted) await consumer.ConfigureAwait(false); // surfaces a pipeline fault
        w.End = pipeline.Stats.Snapshot();
        w.AllocEnd = GC.GetTotalAllocatedBytes(precise: true);
        w.WorkingSetEndMb = Mb();
        w.Cpu = process.TotalProcessorTime - cpuStart;
        return w;
    }

    /// <summary>The figures of the measured window, and where the bottleneck is.</summary>
    private BenchResult Result(Window window, Consumer consumer, IImageDataset dataset, InputPipeline pipeline)
    {
        var w = window.End.Since(window.Start!.Value);
        int k = Math.Max(1, window.Samples);
        var q = window.End.Queues;
        double chunkAvg = window.ChunkSum / k, workerAvg = window.WorkerSum / k, prefetchAvg = window.PrefetchSum / k;
        // Share of the workers' wall time spent decoding and augmenting: near 1 means they are the limit.
        double utilization = (w.DecodeTime + w.AugmentTime).TotalSeconds / Math.Max(1e-9, w.Elapsed.TotalSeconds * pipeline.Workers);
        string bottleneck =
            prefetchAvg >= 0.75 * q.PrefetchCapacity ? "consumer (the prefetch queue stays full: the pipeline is ahead of it)"
            : utilization >= 0.8 ? $"decode + augment workers ({utilization:P0} busy; decode {w.DecodeMillisecondsEach:F2} ms/image, augment {w.AugmentMillisecondsEach:F2} ms/view)"
            : chunkAvg + workerAvg < 0.5 ? $"reading (chunk queues nearly empty, workers {utilization:P0} busy)"
            : $"none dominant: workers {utilization:P0} busy, queues neither full nor empty (CPU shared with the reader and GC?)";
        var mix = consumer.Diversity.Snapshot(); // the consumer has ended
        var captions = settings.Captions;
        return new BenchResult
        {
            Diversity = mix.Batches > 0 ? DiversityResult.From(mix) : null,
            Captions = captions is null ? null : new CaptionBenchResult
            {
                Tokenizer = captions.Name, Context = captions.Context, Column = dataset.Columns.GetValueOrDefault("text"), Captions = consumer.CaptionRows,
                TokensPerCaption = consumer.CaptionRows == 0 ? 0 : Math.Round((double)consumer.CaptionIds / consumer.CaptionRows, 2),
                FullRowShare = consumer.CaptionRows == 0 ? 0 : Math.Round((double)consumer.FullRows / consumer.CaptionRows, 4),
            },
            ImagesPerSec = Math.Round(w.SamplesDone / Math.Max(1e-9, w.Elapsed.TotalSeconds), 1),
            ViewsPerSec = Math.Round(w.ViewsPerSecond, 1),
            Batches = w.Batches, Workers = pipeline.Workers, Decoder = pipeline.DecoderName,
            AllocBytesPerImage = w.SamplesDone == 0 ? 0 : Math.Round((double)(window.AllocEnd - window.AllocStart - window.SamplerAlloc) / w.SamplesDone),
            CpuMillisecondsPerImage = w.SamplesDone == 0 ? 0 : Math.Round(window.Cpu.TotalMilliseconds / w.SamplesDone, 4),
            CpuCores = Math.Round(window.Cpu.TotalSeconds / Math.Max(1e-9, w.Elapsed.TotalSeconds), 2),
            PeakWorkingSetMb = Math.Round(window.PeakMb, 1), WorkingSetStartMb = Math.Round(window.WorkingSetStartMb, 1), WorkingSetEndMb = Math.Round(window.WorkingSetEndMb, 1),
            WorkingSetSeriesMb = window.Series, ManagedHeapSeriesMb = window.HeapSeries, SeriesIntervalSeconds = SeriesSeconds,
            Starvation = Math.Round(w.Starvation, 4), Seconds = Math.Round(w.Elapsed.TotalSeconds, 2), WarmupSeconds = Warmup,
            BatchSize = settings.Batching.BatchSize, ImageSize = settings.Policy.Size, ConsumerRate = settings.Bench.ConsumerRate,
            BadSamples = window.End.BadSamples, BadSamplesByShard = pipeline.Stats.BadByShard,
            Bottleneck = bottleneck,
            StageRates = StageRates(w, utilization, chunkAvg, workerAvg, prefetchAvg, q, pipeline.Workers),
        };
    }

    private static Dictionary<string, double> StageRates(PipelineSnapshot w, double utilization, double chunkAvg, double workerAvg, double prefetchAvg, QueueOccupancy q, int workers) => new()
    {
        ["read_images_per_sec"] = Math.Round(w.ReadSamplesPerSecond, 1),
        ["read_mb_per_sec"] = Math.Round(w.ReadMegabytesPerSecond, 2),
        ["decode_images_per_sec"] = Math.Round(w.DecodedPerSecond, 1),
        ["decode_ms_per_image"] = Math.Round(w.DecodeMillisecondsEach, 3),
        ["augment_views_per_sec"] = Math.Round(w.ViewsPerSecond, 1),
        ["augment_ms_per_view"] = Math.Round(w.AugmentMillisecondsEach, 3),
        ["decode_alloc_bytes_per_image"] = Math.Round(w.DecodeBytesAllocatedEach),
        ["augment_alloc_bytes_per_view"] = Math.Round(w.AugmentBytesAllocatedEach),
        ["batches_per_sec"] = Math.Round(w.BatchesPerSecond, 2),
        ["worker_utilization"] = Math.Round(utilization, 3),
        ["reader_busy"] = Math.Round(w.ReaderBusy, 3),
        ["decode_busy"] = Math.Round(w.DecodeTime.TotalSeconds / Math.Max(1e-9, w.Elapsed.TotalSeconds * workers), 3),
        ["augment_busy"] = Math.Round(w.AugmentTime.TotalSeconds / Math.Max(1e-9, w.Elapsed.TotalSeconds * workers), 3),
        ["queue_chunks_avg"] = Math.Round(chunkAvg, 2),
        ["queue_chunks_capacity"] = q.ChunkCapacity,
        ["queue_workers_avg"] = Math.Round(workerAvg, 2),
        ["queue_workers_capacity"] = q.WorkerCapacity,
        ["queue_prefetch_avg"] = Math.Round(prefetchAvg, 2),
        ["queue_prefetch_capacity"] = q.PrefetchCapacity,
    };
}
