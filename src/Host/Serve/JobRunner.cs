using System.Collections.Concurrent;
using System.Text.Json;
using Contrastive.Ingest;
using Contrastive.Training;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Contrastive.Host.Serve;

/// <summary>
/// The service's worker: takes jobs from the database (interrupted ones first, then queued, oldest first), up to
/// Serve:MaxConcurrentJobs at once, and runs each in this process as a <see cref="TrainRun"/> configured from its spec, in its
/// own folder. A cancel request or the host's stop cancels the job's token: the training loop finishes its step and writes a
/// checkpoint, and the job becomes cancelled or interrupted. Interrupted jobs resume from their newest intact checkpoint.
/// </summary>
internal sealed class JobRunner(JobStore store, ServeState state, ServeOptions options, ILoggerFactory loggers) : BackgroundService
{
    private readonly ILogger _log = loggers.CreateLogger("Contrastive.Serve");
    private readonly ConcurrentDictionary<string, (Task Task, CancellationTokenSource Cancel)> _running = new();
    private readonly SemaphoreSlim _wake = new(0);

    /// <summary>Live figures of the running jobs.</summary>
    public ConcurrentDictionary<string, JobFigures> Figures { get; } = new();

    /// <summary>Whether the worker loop runs (for /readyz).</summary>
    public bool IsRunning { get; private set; }

    /// <summary>Looks for work now (after a submit or a cancel).</summary>
    public void Wake() => _wake.Release();

    /// <summary>Cancels a job: a queued or interrupted one at once, a running one after its checkpoint. False when it already ended or is unknown.</summary>
    public bool Cancel(string id)
    {
        switch (store.RequestCancel(id))
        {
            case null: return false;
            case true: return true;
            default:
                if (_running.TryGetValue(id, out var r)) r.Cancel.Cancel();
                return true;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        IsRunning = true;
        // One wait on the wake-up signal at a time: a new wait each round would leave the earlier one pending, and the next
        // Wake() would go to that abandoned waiter (a submit right after a job ended then waited for the next Wake()).
        Task? wake = null;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                while (_running.Count < options.MaxConcurrentJobs && store.TakeNext([.. _running.Keys]) is { } job)
                {
                    var cancel = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                    _running[job.Id] = (Task.Run(() => RunJobAsync(job, cancel.Token, stoppingToken), CancellationToken.None), cancel);
                }
                var tasks = _running.Values.Select(r => r.Task).ToList();
                wake ??= _wake.WaitAsync(stoppingToken);
                // A look at the store now and then as well, whatever the signal says.
                await Task.WhenAny([wake, Task.Delay(TimeSpan.FromSeconds(5), stoppingToken), .. tasks]).ConfigureAwait(false);
                if (wake.IsCompleted)
                {
                    await wake.ConfigureAwait(false); // rethrows a cancellation on stop
                    wake = null;
                }
                foreach (var (id, r) in _running.Where(kv => kv.Value.Task.IsCompleted).ToList())
                {
                    _running.TryRemove(id, out _);
                    r.Cancel.Dispose();
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
        finally
        {
            IsRunning = false;
            // The host is stopping: every running job's token is cancelled with it; wait for their checkpoints.
            if (!_running.IsEmpty) _log.LogInformation("Stopping: {N} running job(s) finish their step and write a checkpoint", _running.Count);
            await Task.WhenAll(_running.Values.Select(r => r.Task)).ConfigureAwait(false);
        }
    }

    private async Task RunJobAsync(JobRecord job, CancellationToken cancel, CancellationToken stopping)
    {
        string folder = state.JobFolder(job.Id);
        Directory.CreateDirectory(folder);
        using var log = new JobLog(state.JobLog(job.Id), job.Id, _log);
        var figures = Figures[job.Id] = new JobFigures { Step = job.Step ?? 0 };
        bool resume = job.Restarts > 0;
        log.Note(resume ? $"resuming (restart {job.Restarts}) from the newest intact checkpoint in {folder}" : $"starting in {folder}");
        try
        {
            var (overrides, given) = JobSpec.Parse(job.Spec, options.DataRoots);
            string? remote = state.RemoteFolder(job.Id);
            overrides["Training:Out"] = remote ?? folder;
            overrides["Training:Resume"] = resume ? "true" : "false";
            overrides["Training:LogEverySeconds"] = JobSpec.Invariant(options.StatusEverySeconds);
            var settings = TrainSettings.Bind(Settings.Build(overrides, given));
            var run = new TrainRun(settings, log)
            {
                JoinLauncherWorld = false, // a job is one process, whatever the service's environment says
                LocalFolder = remote is null ? null : folder,
                LockPurpose = $"contrastive serve, job {job.Id}",
                OnStep = (step, loss) => { figures.Step = step; figures.Loss = loss; },
                OnStatus = s =>
                {
                    figures.Step = s.Step;
                    figures.Loss = s.MeanLoss;
                    figures.LearningRate = s.LearningRate;
                    figures.ImagesPerSec = s.SamplesPerSecond;
                    figures.Starvation = s.WaitShare;
                    figures.EtaSeconds = s.EtaSeconds;
                    store.UpdateFigures(job.Id, s.Step, s.MeanLoss, s.LearningRate, s.SamplesPerSecond, s.WaitShare, s.EtaSeconds);
                },
            };
            var result = await run.RunAsync(cancel).ConfigureAwait(false);
            store.UpdateFigures(job.Id, result.Steps, result.FinalLoss ?? figures.Loss, figures.LearningRate, figures.ImagesPerSec, figures.Starvation, 0);
            string json = JsonSerializer.Serialize(result);
            string end = !result.Interrupted ? JobStates.Succeeded
                : stopping.IsCancellationRequested ? JobStates.Interrupted
                : cancel.IsCancellationRequested ? JobStates.Cancelled
                : JobStates.Succeeded; // stopped at its own until_step
            store.SetState(job.Id, end, json);
            log.Note($"{end} at step {result.Steps}; checkpoint {result.Checkpoint ?? "(none)"}");
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            string end = stopping.IsCancellationRequested ? JobStates.Interrupted : JobStates.Cancelled;
            store.SetState(job.Id, end);
            log.Note($"{end} before its first step");
        }
        catch (Exception e)
        {
            string message = e switch
            {
                JobSpecException or UsageException or DataSourceException => e.Message,
                _ => $"{e.GetType().Name}: {e.Message}",
            };
            store.SetState(job.Id, JobStates.Failed, error: message);
            log.LogError(e is JobSpecException or UsageException ? null : e, "failed: {Error}", message);
        }
        finally
        {
            Figures.TryRemove(job.Id, out _);
            Wake();
        }
    }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }
}
