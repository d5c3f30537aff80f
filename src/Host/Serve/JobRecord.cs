namespace Contrastive.Host.Serve;

/// <summary>One job as stored: its spec (the JSON posted), state, times, restarts, last figures, result and error; where it runs (executor, the id it has there) and how many processes it has; the tenant that submitted it (null: the admin) and its priority.</summary>
internal sealed record JobRecord(string Id, string Spec, string State, DateTimeOffset Created, DateTimeOffset? Started, DateTimeOffset? Finished, int Restarts,
    long? Step, double? Loss, double? LearningRate, double? ImagesPerSec, double? Starvation, double? EtaSeconds, string? Result, string? Error, bool CancelRequested,
    string? Executor = null, string? ExternalId = null, int Processes = 1, string? Tenant = null, int Priority = 0);
