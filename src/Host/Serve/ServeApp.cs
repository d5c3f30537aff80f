using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Contrastive.Host.Assets;
using Contrastive.Training;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace Contrastive.Host.Serve;

/// <summary>
/// `contrastive serve`: the generic host with ASP.NET Core (Kestrel), the job database, the worker that trains the jobs,
/// the JSON API under /api, health and readiness, Prometheus metrics and the status page.
/// </summary>
internal static class ServeApp
{
    /// <summary>Checks the settings, opens the state directory (one service per directory) and runs until SIGTERM or Ctrl-C.</summary>
    /// <exception cref="UsageException">A setting that cannot work (an open bind without a key, an unreadable key file); the message names it.</exception>
    public static async Task<int> RunAsync(CommandConfiguration config)
    {
        var serve = config.Bind<ServeOptions>("Serve");
        OptionsCopy.Validate(serve.Limits, "Serve:Limits");
        OptionsCopy.Validate(serve.Slurm, "Serve:Slurm");
        string? key = ReadKey(serve, config);
        var keys = ApiKeys.Load(key, serve.ApiKeysFile, config.NameOf("Serve:ApiKeysFile"));
        string[] urls = CheckUrls(serve.Urls, keys.Any, config);
        var state = new ServeState(serve.State, serve.CheckpointPrefix);
        using var stateLock = RunFolderLock.Acquire(state.Root, $"{config.NameOf("Serve:State")} {serve.State}", "contrastive serve");
        using var store = new JobStore(state.Database);
        int stale = store.Running().Count;

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddConfiguration(config.Configuration);
        builder.WebHost.UseUrls(urls);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = serve.MaxRequestBodyBytes;
        });
        builder.Logging.ClearProviders();
        // Under systemd (Type=notify): READY=1 once started, STOPPING=1 on stop; text logs then take the journal's format,
        // while JSON logs, when asked for, stay JSON (their formatter is chosen after systemd's).
        if (serve.JsonLogs)
        {
            builder.Services.AddSystemd();
            builder.Logging.AddJsonConsole(o => { o.UseUtcTimestamp = true; o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ"; });
        }
        else
        {
            builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.UseUtcTimestamp = true; o.TimestampFormat = "yyyy-MM-ddTHH:mm:ssZ "; });
            builder.Services.AddSystemd();
        }
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(serve.ShutdownTimeoutSeconds));
        builder.Services.AddSingleton(serve);
        builder.Services.AddSingleton(state);
        builder.Services.AddSingleton(store);
        builder.Services.AddSingleton<IJobExecutor>(new LocalExecutor(serve));
        builder.Services.AddSingleton<IJobExecutor>(new SlurmExecutor(serve));
        builder.Services.AddSingleton<JobRunner>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<JobRunner>());

        await using var app = builder.Build();
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Contrastive.Serve");
        log.LogInformation("State {State}: {Jobs} job(s) in {Db}{Stale}; checkpoints to {Checkpoints}; data roots: {Roots}; API key: {Key}; up to {N} job(s) at once on {Slots} process slot(s), {Executor} executor",
            state.Root, store.List().Count, store.Path, stale > 0 ? $", {stale} left running by the last service (re-attached, or resumed when their processes are gone)" : "",
            serve.CheckpointPrefix is { } prefix ? $"{prefix.TrimEnd('/')}/jobs/ID" : "the state directory",
            serve.DataRoots.Count > 0 ? string.Join(", ", serve.DataRoots) : "none (every job is refused)",
            !keys.Any ? "none" : keys.Tenants > 0 ? $"required ({keys.Tenants} tenant key(s){(key is null ? "" : " and the admin's")})" : "required", serve.MaxConcurrentJobs,
            serve.Slots == 0 && serve.Executor == "slurm" ? "SLURM's" : serve.ProcessSlots.ToString(System.Globalization.CultureInfo.InvariantCulture), serve.Executor);
        var runner = app.Services.GetRequiredService<JobRunner>();
        using var metrics = new ServeMetrics(store, runner);

        if (keys.Any) app.Use(RequireKey(keys));
        MapApi(app, store, state, serve, runner, new JobArtifacts(state, log));
        StatusPage.Map(app);
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapGet("/readyz", () =>
        {
            bool db = store.Ping();
            string? space = state.ShortOfSpace(serve.MinFreeMb);
            return db && runner.IsRunning && space is null
                ? Results.Text("ready\n")
                : Results.Problem(statusCode: 503, title: "Not ready",
                    detail: $"database {(db ? "open" : "not answering")}, worker {(runner.IsRunning ? "running" : "not running")}{(space is null ? "" : $", disk: {space}")}");
        });
        app.MapMetrics("/metrics");
        await app.RunAsync().ConfigureAwait(false);
        return Cli.Ok;
    }

    /// <summary>The API key from Serve:ApiKeyFile (trimmed), or null when none is configured.</summary>
    internal static string? ReadKey(ServeOptions serve, CommandConfiguration config)
    {
        if (string.IsNullOrWhiteSpace(serve.ApiKeyFile)) return null;
        string name = config.NameOf("Serve:ApiKeyFile");
        string key;
        try { key = File.ReadAllText(serve.ApiKeyFile).Trim(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{name} {serve.ApiKeyFile}: cannot be read ({e.Message})", e);
        }
        if (key.Length < 16) throw new UsageException($"{name} {serve.ApiKeyFile}: the key must be at least 16 characters (it has {key.Length})");
        if (key.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))) throw new UsageException($"{name} {serve.ApiKeyFile}: the key must be one word (no spaces or control characters)");
        return key;
    }

    /// <summary>The URLs to bind; a non-loopback address (0.0.0.0, *, a LAN address, a host name) needs an API key.</summary>
    internal static string[] CheckUrls(string urls, bool haveKey, CommandConfiguration config)
    {
        var list = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (list.Length == 0) throw new UsageException($"{config.NameOf("Serve:Urls")}: no URL given");
        foreach (var url in list)
        {
            // Kestrel's wildcards are not valid URI hosts: read the host by hand.
            int scheme = url.IndexOf("://", StringComparison.Ordinal);
            if (scheme < 0 || !url.StartsWith("http", StringComparison.OrdinalIgnoreCase))
                throw new UsageException($"{config.NameOf("Serve:Urls")}: '{url}' is not an http:// or https:// URL");
            string rest = url[(scheme + 3)..];
            string host = rest.StartsWith('[') ? rest[..(rest.IndexOf(']') + 1)] : rest.Split(':', '/')[0];
            bool loopback = host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
                || (IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
            if (!loopback && !haveKey)
                throw new UsageException($"{config.NameOf("Serve:Urls")} {url}: binds a non-loopback address, which needs an API key: set --api-key-file (Serve:ApiKeyFile) or --api-keys-file (Serve:ApiKeysFile), or bind 127.0.0.1");
        }
        return list;
    }

    /// <summary>Every /api request needs a known key; the request then acts for its caller (a tenant or the admin).</summary>
    private static Func<HttpContext, RequestDelegate, Task> RequireKey(ApiKeys keys) => async (ctx, next) =>
    {
        if (ctx.Request.Path.StartsWithSegments("/api"))
        {
            string? header = ctx.Request.Headers.Authorization;
            var caller = header is not null && header.StartsWith("Bearer ", StringComparison.Ordinal) ? keys.Find(header[7..].Trim()) : null;
            if (caller is null)
            {
                ctx.Response.Headers.WWWAuthenticate = "Bearer";
                await Results.Problem(statusCode: 401, title: "Unauthorized",
                    detail: header is null ? "this server needs an API key: send Authorization: Bearer KEY" : "the API key is not valid").ExecuteAsync(ctx).ConfigureAwait(false);
                return;
            }
            ctx.Items[CallerItem] = caller;
        }
        await next(ctx).ConfigureAwait(false);
    };

    private const string CallerItem = "contrastive.caller";

    /// <summary>Who the request acts for: its key's caller, or the admin on a server without keys (loopback only).</summary>
    private static Caller Who(HttpContext ctx) => ctx.Items[CallerItem] as Caller ?? Caller.Admin;

    private static IResult Problem(int status, string title, string detail, string? setting = null, string? quota = null) =>
        Results.Problem(detail: detail, statusCode: status, title: title,
            extensions: setting is null && quota is null ? null
                : new Dictionary<string, object?> { [setting is null ? "quota" : "setting"] = setting ?? quota });

    private static IResult NotFound(string id) => Problem(404, "No such job", $"there is no job '{id}' on this server");

    private static void MapApi(WebApplication app, JobStore store, ServeState state, ServeOptions serve, JobRunner runner, JobArtifacts artifacts)
    {
        app.MapPost("/api/jobs", async (HttpContext ctx) =>
        {
            var caller = Who(ctx);
            if (state.ShortOfSpace(serve.MinFreeMb) is { } space)
                return Problem(507, "Insufficient storage", $"no job is accepted while the disk is short: {space}; the service takes jobs again when space returns");
            string body;
            try
            {
                using var reader = new StreamReader(ctx.Request.Body, Encoding.UTF8);
                body = await reader.ReadToEndAsync(ctx.RequestAborted).ConfigureAwait(false);
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                return Problem(413, "Request body too large", $"a job spec is at most {serve.MaxRequestBodyBytes} bytes (Serve:MaxRequestBodyBytes)");
            }
            string spec;
            int processes, priority;
            try
            {
                var (overrides, given) = JobSpec.Parse(body, serve.RootsFor(caller.Tenant));
                JobSpec.CheckExists(overrides);
                // The whole run's settings are bound and validated now, so a bad spec is refused here rather than failing later.
                overrides["Training:Out"] = Path.Combine(state.Root, "jobs", "validation");
                TrainSettings settings;
                try { settings = TrainSettings.Bind(Settings.Build(overrides, given)); }
                catch (UsageException e) { throw new JobSpecException(JobSpec.FieldIn(e.Message, given), e.Message); }
                processes = JobSpec.Processes(body);
                priority = JobSpec.Priority(body);
                JobSpec.Placement(body, serve.Executor);
                if (serve.Limits.Check(settings, processes, serve.ProcessSlots) is { } over) throw new JobSpecException(over.Field, over.Message);
                spec = JsonNode.Parse(body)!.ToJsonString();
            }
            catch (JobSpecException e)
            {
                return Problem(400, "Invalid job spec", e.Message, e.Setting);
            }
            if (caller.Tenant is { } tenant)
            {
                var (active, activeProcesses) = store.Active(tenant);
                if (caller.MaxJobs is { } maxJobs && active + 1 > maxJobs)
                    return Problem(429, "Quota reached", $"quota max_jobs: tenant {tenant} has {active} active job(s) (queued, running, interrupted or preempted) and may have {maxJobs}; wait for one to end or cancel one", quota: "max_jobs");
                if (caller.MaxProcesses is { } maxProcesses && activeProcesses + processes > maxProcesses)
                    return Problem(429, "Quota reached", $"quota max_processes: tenant {tenant}'s active jobs have {activeProcesses} process(es), and this one's {processes} would pass its {maxProcesses}", quota: "max_processes");
            }
            JobRecord job;
            try { job = store.Add(spec, processes, caller.Tenant, priority); }
            catch (Microsoft.Data.Sqlite.SqliteException e) when (e.SqliteErrorCode == 13) // SQLITE_FULL: the insert rolled back
            {
                return Problem(507, "Insufficient storage", $"the job database cannot grow: {e.Message}; the service takes jobs again when space returns");
            }
            runner.Wake();
            return Results.Created($"/api/jobs/{job.Id}", View(job, state, runner));
        });
        app.MapGet("/api/jobs", (HttpContext ctx) => Results.Json(store.List(tenant: Who(ctx).Tenant).Select(j => View(j, state, runner))));
        app.MapGet("/api/jobs/{id}", (string id, HttpContext ctx) => Find(store, id, ctx) is { } j ? Results.Json(View(j, state, runner)) : NotFound(id));
        app.MapPost("/api/jobs/{id}/cancel", (string id, HttpContext ctx) =>
        {
            if (Find(store, id, ctx) is not { } job) return NotFound(id);
            if (!runner.Cancel(id)) return Problem(409, "Job already ended", $"job {id} is {job.State}");
            return Results.Json(View(store.Get(id)!, state, runner), statusCode: 202);
        });
        app.MapGet("/api/jobs/{id}/metrics", (string id, long? after, int? limit, HttpContext ctx) =>
        {
            if (Find(store, id, ctx) is null) return NotFound(id);
            return Results.Json(ReadMetrics(Path.Combine(state.JobFolder(id), "metrics.jsonl"), after ?? -1, Math.Clamp(limit ?? 10_000, 1, 100_000)));
        });
        app.MapGet("/api/jobs/{id}/events", async (string id, HttpContext ctx) =>
        {
            if (Find(store, id, ctx) is not { } job)
            {
                await NotFound(id).ExecuteAsync(ctx).ConfigureAwait(false);
                return;
            }
            await JobEvents.StreamAsync(ctx, job, store, state, runner).ConfigureAwait(false);
        });
        // A finished job's exports (encoder.safetensors, encoder.onnx), made from its newest checkpoint when first listed.
        app.MapGet("/api/jobs/{id}/artifacts", async (string id, HttpContext ctx) =>
        {
            if (Find(store, id, ctx) is not { } job) return NotFound(id);
            if (!JobStates.IsFinal(job.State))
                return Problem(409, "Job not finished", $"job {id} is {job.State}: its exports are made from its last checkpoint once it has ended");
            JsonObject? list;
            try { list = await artifacts.ListAsync(job, ctx.RequestAborted).ConfigureAwait(false); }
            catch (IOException e) { return Problem(500, "Export failed", e.Message); }
            return list is null ? Problem(404, "No checkpoint", $"job {id} ended without a checkpoint: there is nothing to export") : Results.Json(list);
        });
        app.MapGet("/api/jobs/{id}/artifacts/{name}", (string id, string name, HttpContext ctx) =>
        {
            if (Find(store, id, ctx) is null) return NotFound(id);
            if (!JobArtifacts.Exports.ContainsKey(name))
                return Problem(404, "No such artifact", $"a job's artifacts are {string.Join(", ", JobArtifacts.Exports.Keys)}, not '{name}'");
            return artifacts.Find(id, name) is { } path
                ? Results.File(path, "application/octet-stream", name)
                : Problem(404, "Not exported yet", $"job {id} has no {name} yet: GET /api/jobs/{id}/artifacts makes its exports (or says why one cannot be made)");
        });
        app.MapGet("/api/jobs/{id}/log", (string id, int? lines, HttpContext ctx) =>
        {
            if (Find(store, id, ctx) is null) return NotFound(id);
            return Results.Text(JobLog.Tail(state.JobLog(id), Math.Clamp(lines ?? 200, 1, 10_000)), "text/plain; charset=utf-8");
        });
    }

    /// <summary>The job, when the id is well formed, the job exists and the caller may see it (another tenant's job is not found, the same 404).</summary>
    private static JobRecord? Find(JobStore store, string id, HttpContext ctx) =>
        JobStore.IsWellFormed(id) && store.Get(id) is { } job && Who(ctx).Owns(job) ? job : null;

    /// <summary>The metrics.jsonl rows after step <paramref name="after"/>, at most <paramref name="limit"/>; lines that do not parse are skipped.</summary>
    internal static JsonArray ReadMetrics(string path, long after, int limit)
    {
        var rows = new JsonArray();
        if (!File.Exists(path)) return rows;
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(fs);
        while (reader.ReadLine() is { } line && rows.Count < limit)
        {
            // MetricsLog starts every row with {"step":N: earlier rows are skipped without parsing them.
            if (line.StartsWith("{\"step\":", StringComparison.Ordinal))
            {
                int end = line.IndexOf(',', 8);
                if (end > 8 && long.TryParse(line.AsSpan(8, end - 8), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out long early)
                    && early <= after) continue;
            }
            JsonNode? row;
            try { row = JsonNode.Parse(line); }
            catch (JsonException) { continue; }
            if (row is JsonObject o && o["step"] is JsonValue s && s.TryGetValue(out long step) && step > after) rows.Add(row);
        }
        return rows;
    }

    /// <summary>A job as the API shows it.</summary>
    internal static object View(JobRecord j, ServeState state, JobRunner runner)
    {
        var live = j.State == JobStates.Running ? runner.Figures.GetValueOrDefault(j.Id) : null;
        string folder = state.JobFolder(j.Id);
        JsonNode? result = j.Result is null ? null : JsonNode.Parse(j.Result);
        long? maxSteps = long.TryParse(JobSpec.Field(j.Spec, "max_steps"), out long m) ? m : null;
        return new
        {
            id = j.Id,
            state = j.State,
            method = JobSpec.Field(j.Spec, "method") ?? "simclr",
            data = JobSpec.DataText(j.Spec),
            created = j.Created,
            started = j.Started,
            finished = j.Finished,
            step = live?.Step ?? j.Step ?? 0,
            max_steps = maxSteps,
            loss = live?.Loss ?? j.Loss,
            lr = live?.LearningRate ?? j.LearningRate,
            images_per_sec = live?.ImagesPerSec ?? j.ImagesPerSec,
            starvation = live?.Starvation ?? j.Starvation,
            eta_seconds = j.State == JobStates.Running ? live?.EtaSeconds ?? j.EtaSeconds : null,
            checkpoint = new CheckpointStore(folder).List().FirstOrDefault() is { } newest
                ? state.RemoteFolder(j.Id) is { } remote ? $"{remote}/{Path.GetFileName(newest)}" : newest
                : null,
            restarts = j.Restarts,
            processes = j.Processes,
            priority = j.Priority,
            tenant = j.Tenant,
            executor = j.Executor ?? runner.ExecutorName,
            external_id = j.ExternalId,
            cancel_requested = j.CancelRequested,
            result,
            error = j.Error,
            folder,
            spec = JsonNode.Parse(j.Spec),
        };
    }
}
