using System.ComponentModel.DataAnnotations;

namespace Contrastive.Batching;

/// <summary>How batches are made. Configuration section "Batching".</summary>
public sealed class BatchingOptions
{
    /// <summary>Samples per batch (each with all its views). Default 128.</summary>
    [Range(2, 1 << 20)]
    public int BatchSize { get; set; } = 128;

    /// <summary>Parallel decode + augment workers. 0 = cores − 1 (at least 1), leaving a core to the trainer.</summary>
    [Range(0, 1024)]
    public int Workers { get; set; }

    /// <summary>Finished batches that may wait for the consumer. Default 2.</summary>
    [Range(1, 64)]
    public int Prefetch { get; set; } = 2;

    /// <summary>Chunks (row groups) read ahead of the workers. Default 4.</summary>
    [Range(1, 1024)]
    public int ChunkQueue { get; set; } = 4;

    /// <summary>Fraction of samples that may be undecodable before the run fails (skipped and counted below it). Default 0.01.</summary>
    [Range(0.0, 1.0)]
    public double MaxBadSampleFraction { get; set; } = 0.01;

    /// <summary>Bad samples tolerated regardless of the fraction (so one early bad image does not fail a run). Default 10.</summary>
    [Range(0, int.MaxValue)]
    public int BadSampleAllowance { get; set; } = 10;

    /// <summary>
    /// Deterministic batch composition: for a fixed seed the same samples land in the same batch slots whatever the
    /// worker count or timing (needed for exact resume). Costs one extra copy of every view (workers stage views in
    /// pooled chunk buffers, an ordered assembler copies them into batches) and up to 2 × workers chunks of staging
    /// memory. Default false: workers write straight into batch slots in completion order.
    /// </summary>
    public bool Deterministic { get; set; }

    /// <summary>Workers when <see cref="Workers"/> is 0: one less than the cores when a trainer shares the CPU, else all cores.</summary>
    public int EffectiveWorkers => EffectiveWorkersFor(trainerSharesCpu: true);

    public int EffectiveWorkersFor(bool trainerSharesCpu) =>
        Workers > 0 ? Workers : Math.Max(1, Environment.ProcessorCount - (trainerSharesCpu ? 1 : 0));
}
