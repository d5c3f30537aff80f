using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Contrastive.Host;

/// <summary>
/// The training run as a hosted service: starts with the host, stops the host when done. A stop request
/// (Ctrl-C, SIGTERM) cancels the run's token; the run then writes a checkpoint and returns.
/// </summary>
internal sealed class TrainingService(TrainSettings settings, RunOutcome outcome, IHostApplicationLifetime lifetime, ILogger<TrainingService> log, RunDisplay? display = null)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        try
        {
            outcome.Result = await new TrainRun(settings, log, display).RunAsync(stoppingToken).ConfigureAwait(false);
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
