using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Contrastive.Ingest;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Contrastive.Host.Serve;

/// <summary>
/// The service's scheduler: re-attaches at start to the jobs the last service left running, then takes jobs from the database
/// (interrupted ones first, then queued, oldest first) while fewer than Serve:MaxConcurrentJobs run and their processes fit
/// in the free Serve:Slots, and has the executor run each as its own processes (`contrastive train --json` in the job's
/// folder). It follows each job through its run folder only (status.json for live figures, result.json or the result line, the exit code),
/// so a job's crash is that job's failure and the service's own death leaves the job training. A cancel, or the service's
/// stop with Serve:OnStop checkpoint, signals the job's ranks: they finish their step, write a checkpoint and end.
/// </summary>
internal sealed class JobRunner(JobStore store, ServeState state, ServeOptions options, IEnumerable<IJobExecutor> executors, ILoggerFactory loggers) : BackgroundService
{
    // New jobs go to the configured executor; a job re-attached at start goes back to the one it was started with.
    private readonly Dictionary<string, IJobExecutor> _executors = executors.ToDictionary(e => e.Name);
    private IJobExecutor Executor => _executors[options.Executor];

    private static readonly TimeSpan PollEvery = TimeSpan.FromMilliseconds(500), SignalAgainAfter = TimeSpan.FromSeconds(5);

    private readonly ILogger _log = loggers.CreateLogger("Contrastive.Serve");
    private readonly ConcurrentDictionary<string, Supervised> _running = new();
    private readonly SemaphoreSlim _wake = new(0);

    /// <summary>Live figures of the running jobs.</summary>
    public ConcurrentDictionary<string, JobFigures> Figures { get; } = new();

    /// <summary>Whether the worker loop runs (for /readyz).</summary>
    public bool IsRunning { get; private set; }

    /// <summary>The executor's name, for the job view of jobs not yet started.</summary>
    public string ExecutorName => options.Executor;

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
                if (_running.TryGetValue(id, out var r)) r.Ask(JobStates.Cancelled);
                return true;
        }
    }

    /// <summary>A job this service follows: its task, and the state it asked the job's processes to stop for (null: none asked).</summary>
    private sealed class Supervised(JobRecord job)
    {
        public JobRecord Job { get; } = job;
        public Task Task { get; set; } = Task.CompletedTask;
        public string? AskedFor { get; private set; }

        public void Ask(string why)
        {
            lock (this) AskedFor ??= why;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        IsRunning = true;
        // Jobs the last service left running: their processes may still train (re-attach), have ended (record how), or be gone.
        foreach (var job in store.Running()) Follow(job, attach: true, stoppingToken);
        // One wait on the wake-up signal at a time: a new wait each round would leave the earlier one pending, and the next
        // Wake() would go to that abandoned waiter (a submit right after a job ended then waited for the next Wake()).
        Task? wake = null;
        try
        {
            string? wasShort = null;
            while (!stoppingToken.IsCancellationRequested)
            {
                // No job starts while the disk is short (it would only fail); the service keeps serving and looks again.
                string? space = state.ShortOfSpace(options.MinFreeMb);
                if ((space is null) != (wasShort is null))
                {
                    if (space is not null) _log.LogWarning("Not starting jobs: {Space}", space);
                    else _log.LogInformation("Disk space is back: starting jobs again");
                }
                wasShort = space;
                if (space is null) store.KeepReserve();
                try
                {
                    while (space is null && _running.Count < options.MaxConcurrentJobs
                           && store.TakeNext([.. _running.Keys], options.ProcessSlots - _running.Values.Sum(r => r.Job.Processes)) is { } job)
                        Follow(job, attach: false, stoppingToken);
                    Preempt();
                }
                catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException)
                {
                    // The database could not be written (a full disk): nothing was changed; the next round tries again.
                    _log.LogWarning("The job database: {Error}; trying again in 5 s", e.Message);
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
                foreach (var (id, r) in _running.Where(kv => kv.Value.Task.IsCompleted).ToList()) _running.TryRemove(id, out _);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
        finally
        {
            IsRunning = false;
            if (!_running.IsEmpty)
                _log.LogInformation(Detach
                    ? "Stopping: {N} running job(s) keep training (Serve:OnStop detach); the next start re-attaches to them"
                    : "Stopping: {N} running job(s) finish their step and write a checkpoint", _running.Count);
            await Task.WhenAll(_running.Values.Select(r => r.Task)).ConfigureAwait(false);
        }
    }

    private bool Detach => options.OnStop == "detach";

    /// <summary>
    /// When the first waiting job does not fit, running jobs of lower priority (the lowest first, then the newest) are asked to
    /// checkpoint and stop, as many as it needs; they become preempted and wait to resume. Jobs already stopping count as freeing.
    /// </summary>
    private void Preempt()
    {
        var waiting = store.Waiting().FirstOrDefault(j => !_running.ContainsKey(j.Id));
        if (waiting is null) return;
        int freeJobs = options.MaxConcurrentJobs - _running.Count, freeSlots = options.ProcessSlots - _running.Values.Sum(r => r.Job.Processes);
        foreach (var r in _running.Values.Where(r => r.AskedFor is not null))
        {
            freeJobs++;
            freeSlots += r.Job.Processes;
        }
        bool Fits() => freeJobs >= 1 && freeSlots >= waiting.Processes;
        if (Fits()) return;
        var victims = new List<Supervised>();
        foreach (var r in _running.Values.Where(r => r.AskedFor is null && r.Job.Priority < waiting.Priority).OrderBy(r => r.Job.Priority).ThenByDescending(r => r.Job.Created))
        {
            victims.Add(r);
            freeJobs++;
            freeSlots += r.Job.Processes;
            if (Fits()) break;
        }
        if (!Fits()) return;
        foreach (var v in victims)
        {
            _log.LogInformation("Job {Job} (priority {Low}) is preempted for job {High} (priority {Priority}): it checkpoints and waits to resume",
                v.Job.Id, v.Job.Priority, waiting.Id, waiting.Priority);
            v.Ask(JobStates.Preempted);
        }
    }

    private void Follow(JobRecord job, bool attach, CancellationToken stopping)
    {
        var s = new Supervised(job);
        _running[job.Id] = s;
        // A cancel that came after the job was taken but before it was registered here found nothing to ask: its flag is in
        // the database, read once now (Cancel sets the flag before it looks here, so one of the two sees the other).
        if (store.Get(job.Id)?.CancelRequested == true) s.Ask(JobStates.Cancelled);
        s.Task = Task.Run(() => SuperviseAsync(s, attach, stopping), CancellationToken.None);
    }

    private async Task SuperviseAsync(Supervised s, bool attach, CancellationToken stopping)
    {
        var job = s.Job;
        string folder = state.JobFolder(job.Id);
        Directory.CreateDirectory(folder);
        using var log = new JobLog(state.JobLog(job.Id), job.Id, _log);
        var figures = Figures[job.Id] = new JobFigures { Step = job.Step ?? 0 };
        try
        {
            JobLaunch launch;
            string externalId;
            var executor = job.Executor is { } name && _executors.TryGetValue(name, out var recorded) ? recorded : Executor;
            if (attach && job.ExternalId is { } known && job.Executor == executor.Name)
            {
                launch = JobLaunch.For(job.Id, folder, new Dictionary<string, string?>(), job.Processes);
                externalId = known;
            }
            else if (attach)
            {
                // Running with no process recorded: the last service died while starting it. It starts again from its checkpoint.
                store.SetState(job.Id, JobStates.Interrupted);
                log.Note("found running with no process recorded (the service stopped while starting it); it resumes");
                return;
            }
            else
            {
                launch = Prepare(job, folder, log);
                externalId = executor.Start(launch);
                store.SetExternal(job.Id, executor.Name, externalId);
            }
            log.Note(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{(attach ? "re-attached to" : "started")} {(job.Processes > 1 ? $"{job.Processes} processes under {executor.Launcher}" : "its process")} ({executor.Name} executor, id {externalId})"));
            await FollowAsync(s, executor, launch, externalId, figures, log, stopping).ConfigureAwait(false);
        }
        catch (Exception e) when (e is JobSpecException or UsageException or DataSourceException or JobLaunchException)
        {
            store.SetState(job.Id, JobStates.Failed, error: e.Message);
            log.LogError("failed: {Error}", e.Message);
        }
        catch (Exception e)
        {
            string message = $"{e.GetType().Name}: {e.Message}";
            store.SetState(job.Id, JobStates.Failed, error: message);
            log.LogError(e, "failed: {Error}", message);
        }
        finally
        {
            Figures.TryRemove(job.Id, out _);
            Wake();
        }
    }

    /// <summary>The job's configuration from its spec, checked again now (its data roots may have changed since it was submitted).</summary>
    private JobLaunch Prepare(JobRecord job, string folder, JobLog log)
    {
        bool resume = job.Restarts > 0;
        log.Note(resume ? $"resuming (restart {job.Restarts}) from the newest intact checkpoint in {folder}" : $"starting in {folder}");
        var (overrides, given) = JobSpec.Parse(job.Spec, options.RootsFor(job.Tenant));
        string? remote = state.RemoteFolder(job.Id);
        overrides["Training:Out"] = remote ?? folder;
        if (remote is not null) overrides["ObjectStore:WorkFolder"] = folder;
        overrides["Training:Resume"] = resume ? "true" : "false";
        overrides["Training:LogEverySeconds"] = JobSpec.Invariant(options.StatusEverySeconds);
        // Several processes share the machine's cores unless the spec says otherwise.
        if (job.Processes > 1 && !overrides.ContainsKey("Training:Threads"))
            overrides["Training:Threads"] = Math.Max(1, Environment.ProcessorCount / job.Processes).ToString(System.Globalization.CultureInfo.InvariantCulture);
        TrainSettings.Bind(Settings.Build(overrides, given)); // a setting that no longer holds fails here, named, before a process starts
        var (partition, timeLimit) = JobSpec.Placement(job.Spec, Executor.Name);
        return JobLaunch.For(job.Id, folder, overrides, job.Processes) with { Partition = partition, TimeLimit = timeLimit };
    }

    /// <summary>Follows a started job until its processes end: live figures from status.json, stop requests passed on as signals.</summary>
    private async Task FollowAsync(Supervised s, IJobExecutor executor, JobLaunch launch, string externalId, JobFigures figures, JobLog log, CancellationToken stopping)
    {
        var job = s.Job;
        DateTimeOffset? seen = null, signalled = null;
        int askedProcesses = 0;
        while (true)
        {
            var exit = executor.Poll(launch, externalId);
            if (RunStatus.Read(launch.Folder) is { } status && status.Time != seen)
            {
                seen = status.Time;
                figures.Step = status.Step;
                figures.Loss = status.Loss;
                figures.LearningRate = status.LearningRate;
                figures.ImagesPerSec = status.ImagesPerSec;
                figures.Starvation = status.Starvation;
                figures.EtaSeconds = status.EtaSeconds;
                figures.Epoch = status.Epoch;
                figures.BadSamples = status.BadSamples;
                (figures.StoreRequests, figures.StoreRetries, figures.BytesFetched) = (status.StoreRequests, status.StoreRetries, status.BytesFetched);
                (figures.CacheHits, figures.CacheMisses, figures.CacheBytes) = (status.CacheHits, status.CacheMisses, status.CacheBytes);
                try { store.UpdateFigures(job.Id, status.Step, status.Loss, status.LearningRate, status.ImagesPerSec, status.Starvation, status.EtaSeconds); }
                catch (Microsoft.Data.Sqlite.SqliteException) { } // a full disk: the live figures stay in memory, the job goes on
            }
            if (exit is not null)
            {
                // The end is recorded once the database takes it (a full disk: again every few seconds, the job's files stay).
                try
                {
                    Finish(s, executor, launch, exit, figures, log);
                    return;
                }
                catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException)
                {
                    log.LogWarning("cannot record how the job ended yet ({Error}); trying again", e.Message);
                    await Task.Delay(SignalAgainAfter, CancellationToken.None).ConfigureAwait(false);
                    continue;
                }
            }
            if (stopping.IsCancellationRequested)
            {
                if (Detach) return; // the job trains on; the next start re-attaches
                s.Ask(JobStates.Interrupted);
            }
            // Signal the ranks, and again while none was found (mpirun may not have started them yet).
            if (s.AskedFor is { } why && (signalled is null || (askedProcesses == 0 && DateTimeOffset.UtcNow - signalled > SignalAgainAfter)))
            {
                askedProcesses = executor.Stop(launch, externalId);
                signalled = DateTimeOffset.UtcNow;
                if (askedProcesses > 0) log.Note($"asked its {askedProcesses} training process(es) to write a checkpoint and stop ({why})");
            }
            await Task.Delay(PollEvery, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Records how the job ended, from its exit, its result line and what the service had asked of it.</summary>
    private void Finish(Supervised s, IJobExecutor executor, JobLaunch launch, JobExit exit, JobFigures figures, JobLog log)
    {
        var job = s.Job;
        // A cancel wins over a stop for preemption or shutdown asked before it (the job must not wait to resume).
        string? asked = store.Get(job.Id)?.CancelRequested == true ? JobStates.Cancelled : s.AskedFor;
        var result = ReadResult(launch.Folder);
        if (exit.Code == 0 && result is not null)
        {
            bool interrupted = result["interrupted"]?.GetValue<bool>() == true;
            long steps = result["steps"]?.GetValue<long>() ?? figures.Step;
            string end = !interrupted ? JobStates.Succeeded
                : asked ?? (ReachedUntilStep(job, steps) ? JobStates.Succeeded : JobStates.Interrupted);
            if (end == JobStates.Interrupted && asked is null && executor.MaxResubmits is { } most && job.Restarts >= most)
            {
                store.UpdateFigures(job.Id, steps, figures.Loss, figures.LearningRate, figures.ImagesPerSec, figures.Starvation, 0);
                FailOutOfResubmits(job, most, $" at step {steps}", exit, log, result.ToJsonString());
                return;
            }
            double? loss = result["final_loss"] is JsonValue l && l.TryGetValue(out double v) ? v : figures.Loss;
            store.UpdateFigures(job.Id, steps, loss, figures.LearningRate, figures.ImagesPerSec, figures.Starvation, 0);
            store.SetState(job.Id, end, result.ToJsonString());
            log.Note($"{end} at step {steps}; checkpoint {result["checkpoint"]?.GetValue<string>() ?? "(none)"}{(end == JobStates.Interrupted && asked is null ? $"; {exit.Reason}: it resumes" : "")}");
            return;
        }
        string? space = state.ShortOfSpace(options.MinFreeMb);
        if (exit.Lost && space is not null)
        {
            // No exit code because the disk was full (the wrapper could not write it): a resume would only fail again.
            store.SetState(job.Id, JobStates.Failed, error: $"its processes ended without an exit code while the disk was full ({space})");
            log.LogError("failed: the disk is full ({Space})", space);
            return;
        }
        if (exit.Lost || (asked is not null && exit.Code != 0))
        {
            // Stopped before a result (the machine restarted, SLURM's time limit, or a stop arrived before its first step): it
            // resumes, or is cancelled; within the scheduler's resubmission limit.
            string end = asked ?? JobStates.Interrupted;
            if (end == JobStates.Interrupted && executor.MaxResubmits is { } limit && job.Restarts >= limit)
            {
                FailOutOfResubmits(job, limit, "", exit, log);
                return;
            }
            store.SetState(job.Id, end);
            log.Note($"{end}: {exit.Reason}");
            return;
        }
        string tail = JobLog.Tail(state.JobLog(job.Id), 12).TrimEnd();
        string error = exit.Code == 0 ? "its process ended without a result (no result.json, no result line)" : $"its process ended: {exit.Reason}";
        // The error names the cause: the log's last error line, or else its last lines.
        var lines = tail.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith("---", StringComparison.Ordinal)).ToList();
        string? cause = lines.LastOrDefault(l => l.Contains("error", StringComparison.OrdinalIgnoreCase) || l.Contains("fail", StringComparison.OrdinalIgnoreCase));
        string last = cause ?? string.Join(" | ", lines.TakeLast(3));
        if (space is not null) error += $" while the disk was full ({space})";
        store.SetState(job.Id, JobStates.Failed, error: last.Length == 0 ? error : $"{error}; {last}");
        log.LogError("failed: {Error}; the log's last lines:\n{Tail}", error, tail);
    }

    /// <summary>A job stopped once more than Serve:Slurm:MaxResubmits allows resuming it: failed, saying so (with its last result, when it left one).</summary>
    private void FailOutOfResubmits(JobRecord job, int most, string at, JobExit exit, JobLog log, string? result = null)
    {
        store.SetState(job.Id, JobStates.Failed, result,
            $"stopped{at} without finishing for the {job.Restarts + 1}th time ({exit.Reason}); resumed at most {most} times (Serve:Slurm:MaxResubmits)");
        log.LogError("failed: stopped {N} times without finishing", job.Restarts + 1);
    }

    private static bool ReachedUntilStep(JobRecord job, long steps) =>
        long.TryParse(JobSpec.Field(job.Spec, "until_step"), out long until) && until > 0 && steps >= until;

    /// <summary>The job's result: rank 0's result.json, else the line of `train --json` rank 0 printed (each rank prints one), or null when there is none.</summary>
    internal static JsonObject? ReadResult(string folder)
    {
        // Rank 0's result.json; else (it could not be written) the result lines in the job's stdout, rank 0's first.
        if (RunResultFile.Read(folder) is { } written && written.ContainsKey("steps")) return written;
        string path = Path.Combine(folder, JobLaunch.OutputFile);
        if (!File.Exists(path)) return null;
        JsonObject? found = null;
        foreach (var line in File.ReadLines(path))
        {
            if (!line.StartsWith('{')) continue;
            try
            {
                if (JsonNode.Parse(line) is JsonObject o && o.ContainsKey("steps") && (found is null || o["rank"]?.GetValue<int>() == 0)) found = o;
            }
            catch (System.Text.Json.JsonException) { }
        }
        return found;
    }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }
}
