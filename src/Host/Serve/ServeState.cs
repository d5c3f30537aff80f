namespace Contrastive.Host.Serve;

/// <summary>Where the service keeps things: the database and one folder per job.</summary>
internal sealed class ServeState(string root, string? checkpointPrefix = null)
{
    public string Root { get; } = Path.GetFullPath(root);

    /// <summary>The job's folder in object storage (Serve:CheckpointPrefix/jobs/ID), or null when jobs stay local.</summary>
    public string? RemoteFolder(string id) => checkpointPrefix is null ? null : $"{checkpointPrefix.TrimEnd('/')}/jobs/{Checked(id)}";

    public string Database => Path.Combine(Root, "jobs.db");

    /// <summary>Why the state directory is short of space (free MB under <paramref name="minFreeMb"/>), or null when it is not.</summary>
    public string? ShortOfSpace(double minFreeMb) => DiskSpace.FreeMb(Root) is { } free && free < minFreeMb
        ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{free:F0} MB free where the state is ({Root}), under Serve:MinFreeMb {minFreeMb} MB")
        : null;

    /// <summary>The job's folder: its checkpoints, metrics and log. Only for ids the server made (checked here again).</summary>
    public string JobFolder(string id) => Path.Combine(Root, "jobs", Checked(id));

    public string JobLog(string id) => Path.Combine(JobFolder(id), "job.log");

    private static string Checked(string id) =>
        JobStore.IsWellFormed(id) ? id : throw new ArgumentException($"'{id}' is not a job id of this server.", nameof(id));
}
