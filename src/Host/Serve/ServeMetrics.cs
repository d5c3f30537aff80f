using Contrastive.Batching;
using Prometheus;

namespace Contrastive.Host.Serve;

/// <summary>
/// What /metrics shows besides the process's own figures: the input pipeline's meter ("Contrastive.Pipeline", its counters,
/// gauges and histogram, through prometheus-net's meter adapter) and per-job gauges (step, loss, images/s, starvation,
/// state), refreshed from the database and the running jobs' live figures before each scrape.
/// </summary>
internal sealed class ServeMetrics : IDisposable
{
    private const int JobsShown = 200;

    private static readonly Gauge Step = Metrics.CreateGauge("contrastive_job_step", "Optimizer steps the job has taken.", "job");
    private static readonly Gauge Loss = Metrics.CreateGauge("contrastive_job_loss", "The job's recent training loss.", "job");
    private static readonly Gauge Rate = Metrics.CreateGauge("contrastive_job_images_per_second", "Samples (images or series windows) the job trains per second.", "job");
    private static readonly Gauge Starvation = Metrics.CreateGauge("contrastive_job_starvation", "Share of the job's recent time spent waiting for input (0-1).", "job");
    private static readonly Gauge State = Metrics.CreateGauge("contrastive_job_state", "1 for the job's current state, 0 for the others.", "job", "state");
    private static readonly Gauge Restarts = Metrics.CreateGauge("contrastive_job_restarts", "Times the job was resumed after an interruption.", "job");

    private readonly JobStore _store;
    private readonly JobRunner _runner;
    private bool _disposed;

    static ServeMetrics()
    {
        // Only the pipeline's meter from System.Diagnostics.Metrics (ASP.NET Core's own meters stay out of the way).
        Metrics.ConfigureMeterAdapter(o => o.InstrumentFilterPredicate = i => i.Meter.Name == PipelineMetrics.MeterName);
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
            Restarts.WithLabels(j.Id).Set(j.Restarts);
            foreach (var state in JobStates.All) State.WithLabels(j.Id, state).Set(state == j.State ? 1 : 0);
        }
    }

    public void Dispose() => _disposed = true;
}
