namespace Contrastive.Host;

/// <summary>
/// How a training run splits the CPU between torch's threads and the input pipeline's workers, in words for the start
/// line. The defaults (Training:Threads 0 = every core, Batching:Workers 0 = cores − 1) overlap on one core on purpose:
/// at the default sizes a worker is busy under a tenth of the time and waits whenever the prefetch queue is full, and
/// two torch threads on 2 cores trained 1.5–1.6× the images per second of one, the trainer waiting for data under 1% of
/// the time either way (docs/benchmarks.md, "CPU split").
/// </summary>
internal static class CpuSplit
{
    /// <summary>" (…)": why <paramref name="threads"/> torch threads and <paramref name="workers"/> workers on <paramref name="cores"/> cores.</summary>
    /// <param name="threadsSetting">Training:Threads as configured (0: the default).</param>
    /// <param name="workersSetting">Batching:Workers as configured (0: the default).</param>
    public static string Describe(int threadsSetting, int workersSetting, int threads, int workers, int cores)
    {
        string t = threadsSetting > 0 ? "threads as set" : $"threads: all {cores} core(s)";
        string w = workersSetting > 0 ? "workers as set" : "workers: cores − 1, at least 1";
        string why = threadsSetting == 0 && workersSetting == 0 && threads + workers > cores
            ? "; they share a core on purpose, as the workers wait whenever the prefetch queue is full (--threads, --workers to change)"
            : "";
        return $" ({t}; {w}{why})";
    }
}
