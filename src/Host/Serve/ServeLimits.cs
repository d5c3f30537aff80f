using System.ComponentModel.DataAnnotations;
using System.Globalization;
using Contrastive.Training;

namespace Contrastive.Host.Serve;

/// <summary>
/// What one job may ask of this server (section "Serve:Limits"): checked together on the job's bound settings when it is
/// submitted, before anything is allocated, so a spec over a limit is a 400 naming the field and the limit.
/// </summary>
internal sealed class ServeLimits
{
    /// <summary>Largest batch size. Default 65536.</summary>
    [Range(1, 100_000_000)]
    public int MaxBatchSize { get; set; } = 65_536;

    /// <summary>Largest view side in pixels. Default 1024.</summary>
    [Range(8, 65_536)]
    public int MaxImageSize { get; set; } = 1024;

    /// <summary>
    /// Largest pinned batch memory of an image job in MB: the pool's buffers (prefetch + workers + 2) × batch size × views ×
    /// 3 × side² bytes (every view counted at the global side). Default 8192.
    /// </summary>
    [Range(1.0, 1e9)]
    public double MaxBatchMemoryMb { get; set; } = 8192;

    /// <summary>Most decode workers. Default 256.</summary>
    [Range(1, 100_000)]
    public int MaxWorkers { get; set; } = 256;

    /// <summary>Most torch threads. Default 256.</summary>
    [Range(1, 100_000)]
    public int MaxThreads { get; set; } = 256;

    /// <summary>Most processes of one job (its "processes"; the service's slots bound it too). Default 64.</summary>
    [Range(1, 100_000)]
    public int MaxProcesses { get; set; } = 64;

    /// <summary>Longest a job may train, in minutes (its max_minutes; 0 there means no limit, refused when this is set). Default 0: no limit.</summary>
    [Range(0.0, 1e9)]
    public double MaxMinutes { get; set; }

    /// <summary>The first limit <paramref name="s"/> is over, as (spec field, message); null when it keeps every one.</summary>
    public (string Field, string Message)? Check(TrainSettings s, int processes = 1, int slots = int.MaxValue)
    {
        var ic = CultureInfo.InvariantCulture;
        if (processes > MaxProcesses)
            return ("processes", string.Create(ic, $"processes: {processes} is over this server's limit of {MaxProcesses} (Serve:Limits:MaxProcesses)"));
        if (processes > slots)
            return ("processes", string.Create(ic, $"processes: {processes} is more than this server's {slots} process slots (Serve:Slots), so the job could never start"));
        if (s.Batching.BatchSize > MaxBatchSize)
            return ("batch_size", string.Create(ic, $"batch_size: {s.Batching.BatchSize} is over this server's limit of {MaxBatchSize} (Serve:Limits:MaxBatchSize)"));
        if (s.Method.Data == MethodData.Images && s.Augment.Size > MaxImageSize)
            return ("image_size", string.Create(ic, $"image_size: {s.Augment.Size} is over this server's limit of {MaxImageSize} px (Serve:Limits:MaxImageSize)"));
        int workers = s.Batching.Workers > 0 ? s.Batching.Workers : Math.Max(1, Environment.ProcessorCount - 1);
        if (workers > MaxWorkers)
            return ("workers", string.Create(ic, $"workers: {workers} is over this server's limit of {MaxWorkers} (Serve:Limits:MaxWorkers)"));
        if (s.Training.Threads > MaxThreads)
            return ("threads", string.Create(ic, $"threads: {s.Training.Threads} is over this server's limit of {MaxThreads} (Serve:Limits:MaxThreads)"));
        if (MaxMinutes > 0 && (s.Training.MaxMinutes <= 0 || s.Training.MaxMinutes > MaxMinutes))
            return ("max_minutes", string.Create(ic, $"max_minutes: {(s.Training.MaxMinutes <= 0 ? "0 (no limit)" : s.Training.MaxMinutes)} is over this server's limit of {MaxMinutes} minutes (Serve:Limits:MaxMinutes)"));
        if (s.Method.Data == MethodData.Images && s.Method.ImageViews(s.MethodOptions, new ViewSettings(s.Augment, s.MultiCrop)) is { } views)
        {
            int buffers = s.Batching.Prefetch + workers + 2;
            double mb = (double)buffers * s.Batching.BatchSize * views.ViewCount * 3.0 * views.Size * views.Size / (1024 * 1024);
            if (mb > MaxBatchMemoryMb)
                return ("batch_size", string.Create(ic,
                    $"batch_size: {s.Batching.BatchSize} × {views.ViewCount} views × 3×{views.Size}×{views.Size} bytes × {buffers} buffers is {mb:F0} MB of pinned batch memory, over this server's limit of {MaxBatchMemoryMb} MB (Serve:Limits:MaxBatchMemoryMb)"));
        }
        return null;
    }
}
