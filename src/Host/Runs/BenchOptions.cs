using System.ComponentModel.DataAnnotations;

namespace Contrastive.Host;

/// <summary>`contrastive bench`: how long and against what consumer. Configuration section "Bench".</summary>
internal sealed class BenchOptions
{
    /// <summary>Measured seconds, after the warm-up. Default 20.</summary>
    [Range(0.1, 1e6)]
    public double Seconds { get; set; } = 20;

    /// <summary>Seconds run before measuring, while pools and caches fill; unset: 15% of Seconds, 1 to 60 s.</summary>
    [Range(0.0, 1e6)]
    public double? Warmup { get; set; }

    /// <summary>
    /// Read this many whole epochs, then stop, instead of a timed window (no warm-up: the first epoch is the cold one), and
    /// report each epoch's samples, seconds, images/s and object-storage requests, retries and bytes fetched. 0 (default):
    /// the timed window.
    /// </summary>
    [Range(0, 1_000_000)]
    public int Epochs { get; set; }

    /// <summary>Simulate a trainer taking this many images per second; unset: a null consumer.</summary>
    [Range(1e-3, 1e9)]
    public double? ConsumerRate { get; set; }

    /// <summary>"all" (the whole pipeline, default) or "ingest" (reading alone: bytes handed on, no decode).</summary>
    [Required, RegularExpression("^(all|ingest)$", ErrorMessage = "must be all or ingest")]
    public string Stage { get; set; } = "all";

    /// <summary>Sample managed allocations (GC AllocationTick events) and print the top types. Default false.</summary>
    public bool TraceAllocations { get; set; }

    /// <summary>
    /// Read each image's caption and tokenize it in the workers into the batch's token plane, as a clip run does (GPT-2 BPE,
    /// Clip:ContextLength ids, 77 by default); the data must have captions. True: with any image method; false: not even for
    /// clip (its image batches alone, the baseline of the captions' cost); unset (default): as the method does (clip only).
    /// </summary>
    public bool? Captions { get; set; }
}
