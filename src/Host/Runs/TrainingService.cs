using Contrastive.Augment;
using Contrastive.Batching;
using Contrastive.Training;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Contrastive.Host;

/// <summary>
/// The training run as a hosted service: starts with the host, stops the host when done. A stop request
/// (Ctrl-C, SIGTERM) cancels the run's token; the run then writes a checkpoint and returns.
/// </summary>
public sealed class TrainingService(
    IOptions<DataOptions> data, IOptions<TrainingOptions> training, IOptions<BatchingOptions> batching, IOptions<SimClrViewOptions> views,
    IOptions<MultiCropViewOptions> multiCrop, IOptions<SeriesWindowOptions> series, IOptions<CpcTrainingOptions> cpc, RunOutcome outcome, IHostApplicationLifetime lifetime, ILogger<TrainingService> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        try
        {
            outcome.Result = training.Value.Method == "cpc"
                ? await new CpcRun(data.Value, training.Value, batching.Value, series.Value, cpc.Value, log).RunAsync(stoppingToken).ConfigureAwait(false)
                : await new TrainRun(data.Value, training.Value, batching.Value, views.Value, log, multiCrop.Value).RunAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            outcome.Error = e;
        }
        finally
        {
            lifetime.StopApplication();
        }
    }
}
