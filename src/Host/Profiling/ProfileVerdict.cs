using System.Globalization;

namespace Contrastive.Host;

/// <summary>
/// Input bound or compute bound, the stage to blame and the settings that would help, in words (as FFCV's bottleneck doctor and
/// TensorFlow's input-pipeline analyzer put it).
/// </summary>
/// <param name="Bound">"input bound", "compute bound", or "pipeline alone" (bench with a null consumer: nothing to be bound by).</param>
/// <param name="Stage">The bottleneck: "read", "decode", "augment", "prefetch" (no stage saturated) or "trainer".</param>
internal sealed record ProfileVerdict(string Bound, string Stage, string Headline, IReadOnlyList<string> Reasons, IReadOnlyList<string> Advice)
{
    /// <summary>The trainer waiting at least this share of its time for data counts as input bound.</summary>
    public const double InputBoundThreshold = 0.10;

    /// <summary>The verdict on a window's figures; <paramref name="consumer"/> names the consumer ("trainer", "simulated trainer") or is null for a null consumer.</summary>
    public static ProfileVerdict Judge(StageFigures f, ProfileHeader h, string? consumer)
    {
        var ic = CultureInfo.InvariantCulture;
        var reasons = new List<string>
        {
            string.Create(ic, $"Workers busy {f.WorkerBusy:P0} (decode {f.DecodeBusy:P0}, augment {f.AugmentBusy:P0}) with {h.Workers} worker(s) on {h.Cores} core(s); reader busy {f.ReaderBusy:P0}."),
            string.Create(ic, $"Queues on average: chunks {f.ChunkQueueAvg:F1} of {f.ChunkQueueCapacity}, worker input {f.WorkerQueueAvg:F1} of {f.WorkerQueueCapacity}, prefetch {f.PrefetchAvg:F1} of {f.PrefetchCapacity}."),
        };
        if (consumer is not null && f.Starvation < InputBoundThreshold)
        {
            reasons.Insert(0, string.Create(ic, $"The {consumer} waited for data {f.Starvation:P1} of the time (under {InputBoundThreshold:P0}), and the prefetch queue held {f.PrefetchAvg:F1} of {f.PrefetchCapacity} batches: the input keeps up."));
            var advice = new List<string>
            {
                f.WorkerBusy >= 0.7 || f.ReaderBusy >= 0.7
                    ? string.Create(ic, $"A faster step helps, but the input pipeline is near its own limit (workers {f.WorkerBusy:P0} busy, reader {f.ReaderBusy:P0}): a step much faster would make the run input bound on the {PipelineLimit(f)} stage.")
                    : string.Create(ic, $"The input pipeline has headroom (workers {f.WorkerBusy:P0} busy, reader {f.ReaderBusy:P0}): speeding it up would not help; a faster step would."),
            };
            if (consumer == "trainer")
            {
                advice.Add("Make the step cheaper or faster: a GPU (--device cuda), bf16 (--precision bf16 on CUDA or a CPU with bf16 instructions), all cores for torch (--threads), or a smaller --encoder or --image-size.");
                if (h.Workers > 1 && f.WorkerBusy < 0.5)
                    advice.Add(string.Create(ic, $"Fewer workers leave cores to torch: --workers {Math.Max(1, (int)Math.Ceiling(h.Workers * f.WorkerBusy * 1.5))} (now {h.Workers}; they are {f.WorkerBusy:P0} busy)."));
            }
            else advice.Add("bench's consumer is simulated (--consumer-rate): a real trainer at that rate would be compute bound, not input bound.");
            return new ProfileVerdict("compute bound", "trainer",
                string.Create(ic, $"Compute bound: the {consumer} waited for data only {f.Starvation:P0} of the time; the bottleneck is the {consumer} (forward, backward, optimizer step), not the input pipeline."),
                reasons, advice);
        }

        string stage = PipelineLimit(f);
        var (what, help) = Explain(stage, f, h);
        if (consumer is null)
        {
            reasons.Insert(0, "A null consumer takes every batch at once (its waiting is 100% by design): the pipeline was measured alone.");
            return new ProfileVerdict("pipeline alone", stage,
                string.Create(ic, $"Pipeline alone: it delivers {f.ImagesPerSec:F0} images/s; its limit is the {stage} stage ({what}). A trainer slower than {f.ImagesPerSec:F0} images/s would be compute bound; a faster one, input bound."),
                reasons, help);
        }
        reasons.Insert(0, string.Create(ic, $"The {consumer} waited for data {f.Starvation:P0} of the time (at least {InputBoundThreshold:P0} counts as input bound)."));
        return new ProfileVerdict("input bound", stage,
            string.Create(ic, $"Input bound: the {consumer} waited for data {f.Starvation:P0} of the time; the bottleneck is the {stage} stage ({what})."),
            reasons, help);
    }

    /// <summary>Which pipeline stage limits it: the workers' larger share when they are busy and fed, reading when the chunk queue runs dry, else none (prefetch).</summary>
    internal static string PipelineLimit(StageFigures f)
    {
        if (f.WorkerBusy >= 0.6 && (f.ChunkQueueFill >= 0.2 || f.ReaderBusy < 0.6)) return f.DecodeBusy >= f.AugmentBusy ? "decode" : "augment";
        if (f.ReaderBusy >= 0.5 || f.ChunkQueueFill < 0.2) return "read";
        return "prefetch";
    }

    private static (string What, List<string> Help) Explain(string stage, StageFigures f, ProfileHeader h)
    {
        var ic = CultureInfo.InvariantCulture;
        var help = new List<string>();
        string MoreWorkers() => h.Workers < h.Cores
            ? string.Create(ic, $"More workers: --workers {Math.Min(h.Cores, Math.Max(h.Workers + 1, h.Workers * 2))} (now {h.Workers}; {h.Cores} cores)")
            : string.Create(ic, $"More cores: every one of the {h.Cores} already runs a worker (--workers {h.Workers}); if a trainer shares them, fewer torch threads (--threads) leave the workers more");
        switch (stage)
        {
            case "decode":
                help.Add(MoreWorkers() + ".");
                if (!h.Decoder.Equals("turbojpeg", StringComparison.OrdinalIgnoreCase))
                    help.Add($"A faster decoder: --decoder turbojpeg (now {h.Decoder}; apt-get install libturbojpeg0): JPEG about 2x faster, and it decodes at reduced scale.");
                if (!h.DecodeScaling)
                    help.Add("Decode scaling: set Augment:DecodeScaling true (CONTRASTIVE_Augment__DecodeScaling=true; off here): TurboJPEG then decodes at 1/2 to 1/8 scale when the views are small.");
                else
                    help.Add(string.Create(ic, $"Decode scaling is on; smaller stored images decode faster still: re-encode the data nearer the {h.ImageSize}-px views before packing (contrastive pack)."));
                return (string.Create(ic, $"{f.DecodeMsEach:F2} ms an image, {f.DecodeBusy:P0} of the workers' time"), help);
            case "augment":
                help.Add(MoreWorkers() + ".");
                help.Add(string.Create(ic, $"Cheaper views: a smaller --image-size (now {h.ImageSize}) or fewer views ({h.Views} a sample; dino: --local-views)."));
                return (string.Create(ic, $"{f.AugmentMsEach:F2} ms a view, {f.AugmentBusy:P0} of the workers' time"), help);
            case "read":
                help.Add(string.Create(ic, $"Read further ahead: --chunk-queue {Math.Max(8, h.ChunkQueue * 2)} (now {h.ChunkQueue}; the chunk queue held {f.ChunkQueueAvg:F1} on average)."));
                help.Add(string.Create(ic, $"Row-group size: chunks hold {f.SamplesPerChunk:F0} samples and take {f.ReadMsPerChunk:F1} ms each to read; repack with contrastive pack --rows-per-row-group (100 to 1000 rows) so reads are neither tiny nor one long stall."));
                help.Add("Faster storage: local disk or the page cache rather than object storage; a smaller --shuffle-buffer reads less at each epoch's start.");
                return (string.Create(ic, $"reader busy {f.ReaderBusy:P0}, {f.ReadMbPerSec:F1} MB/s, chunk queue {f.ChunkQueueFill:P0} full"), help);
            default:
                help.Add(string.Create(ic, $"Absorb bursts: --prefetch {Math.Max(4, h.Prefetch * 2)} (now {h.Prefetch}) and --chunk-queue {Math.Max(8, h.ChunkQueue * 2)} (now {h.ChunkQueue})."));
                help.Add(string.Create(ic, $"If the trainer shares the cores, give the pipeline one: fewer torch threads (--threads) or --workers {Math.Min(h.Cores, h.Workers + 1)} (now {h.Workers})."));
                return (string.Create(ic, $"no stage saturated: workers {f.WorkerBusy:P0} busy, reader {f.ReaderBusy:P0}; batches arrive in bursts or the CPU is shared"), help);
        }
    }
}
