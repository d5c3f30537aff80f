using Prometheus;

namespace Contrastive.Host.Serve;

/// <summary>
/// What /metrics shows besides the service process's own figures: per-job gauges (step, loss, images/s, starvation, epoch,
/// bad samples, state, restarts), refreshed from the database and the running jobs' status files before each scrape. A job's
/// input pipeline meter ("Contrastive.Pipeline") lives in the job's own process (dotnet-counters on its pid reads it).
/// </summary>
internal sealed class ServeMetrics : IDisposable
{
    private const int JobsShown = 200;

    private static readonly Gauge Step = Metrics.CreateGauge("contrastive_job_step", "Optimizer steps the job has taken.", "job");
    private static readonly Gauge Loss = Metrics.CreateGauge("contrastive_job_loss", "The job's recent training loss.", "job");
    private static readonly Gauge Rate = Metrics.CreateGauge("contrastive_job_images_per_second", "Samples (images or series windows) the job trains per second.", "job");
    private static readonly Gauge Starvation = Metrics.CreateGauge("contrastive_job_starvation", "Share of the job's recent time spent waiting for input (0-1).", "job");
    private static readonly Gauge State = Metrics.CreateGauge("contrastive_job_state", "1 for the job's current state, 0 for the others.", "job", "state");
    private static readonly Gauge Epoch = Metrics.CreateGauge("contrastive_job_epoch", "The epoch the running job reads.", "job");
    private static readonly Gauge BadSamples = Metrics.CreateGauge("contrastive_job_bad_samples", "Bad samples the running job skipped so far.", "job");
    private static readonly Gauge StoreRequests = Metrics.CreateGauge("contrastive_job_store_requests", "Object-storage requests the running job's rank 0 has made (data, checkpoints).", "job");
    private static readonly Gauge StoreRetries = Metrics.CreateGauge("contrastive_job_store_retries", "Object-storage requests the running job's rank 0 has retried after a transient failure.", "job");
    private static readonly Gauge BytesFetched = Metrics.CreateGauge("contrastive_job_store_bytes_fetched", "Bytes of object bodies the running job's rank 0 has received.", "job");
    private static readonly Gauge CacheHits = Metrics.CreateGauge("contrastive_job_cache_hits", "Shards the running job's rank 0 read from its local shard cache (Data:CacheDir).", "job");
    private static readonly Gauge CacheMisses = Metrics.CreateGauge("contrastive_job_cache_misses", "Shards the running job's rank 0 had to fetch into its shard cache (or read directly).", "job");
    private static readonly Gauge CacheBytes = Metrics.CreateGauge("contrastive_job_cache_bytes", "Bytes on disk of the running job's shard cache folder.", "job");
    private static readonly Gauge Restarts = Metrics.CreateGauge("contrastive_job_restarts", "Times the job was resumed after an interruption.", "job");

    private readonly JobStore _store;
    private readonly JobRunner _runner;
    private bool _disposed;

    static ServeMetrics()
    {
        // No meters from System.Diagnostics.Metrics (ASP.NET Core's own stay out of the way; the pipeline's are in the jobs' processes).
        Metrics.ConfigureMeterAdapter(o => o.InstrumentFilterPredicate = _ => false);
    }

    public ServeMetrics(JobStore store, JobRunner runner)
    {
        _store = store;
        _runner = runner;
        Metrics.DefaultRegistry.AddBeforeCollectCallback(Refresh);
    }

    private void Refresh()
    {
        if (_disposed) return;
        foreach (var j in _store.List(JobsShown))
        {
            var live = j.State == JobStates.Running ? _runner.Figures.GetValueOrDefault(j.Id) : null;
            Step.WithLabels(j.Id).Set(live?.Step ?? j.Step ?? 0);
            if ((live?.Loss ?? j.Loss) is { } loss) Loss.WithLabels(j.Id).Set(loss);
            if ((live?.ImagesPerSec ?? j.ImagesPerSec) is { } rate) Rate.WithLabels(j.Id).Set(rate);
            if ((live?.Starvation ?? j.Starvation) is { } s) Starvation.WithLabels(j.Id).Set(s);
            if (live?.Epoch is { } epoch) Epoch.WithLabels(j.Id).Set(epoch);
            if (live?.BadSamples is { } bad) BadSamples.WithLabels(j.Id).Set(bad);
            if (live?.StoreRequests is { } requests) StoreRequests.WithLabels(j.Id).Set(requests);
            if (live?.StoreRetries is { } retries) StoreRetries.WithLabels(j.Id).Set(retries);
            if (live?.BytesFetched is { } fetched) BytesFetched.WithLabels(j.Id).Set(fetched);
            if (live?.CacheHits is { } hits) CacheHits.WithLabels(j.Id).Set(hits);
            if (live?.CacheMisses is { } misses) CacheMisses.WithLabels(j.Id).Set(misses);
            if (live?.CacheBytes is { } cached) CacheBytes.WithLabels(j.Id).Set(cached);
            Restarts.WithLabels(j.Id).Set(j.Restarts);
            foreach (var state in JobStates.All) State.WithLabels(j.Id, state).Set(state == j.State ? 1 : 0);
        }
    }

    public void Dispose() => _disposed = true;
}
