using Contrastive.Ingest;
using Microsoft.Extensions.Logging;

namespace Contrastive.Host;

/// <summary>
/// A run folder in object storage (--out s3://bucket/prefix). The run works in a local folder (TMPDIR/contrastive-s3/bucket/prefix,
/// which also holds the one-writer lock on this machine); every checkpoint is uploaded as soon as it is written (a multipart
/// upload when large, so an object is never half there), with metrics.jsonl and metrics.csv beside it, and only the newest
/// Training:KeepCheckpoints stay in the bucket. A resume first fetches the bucket's checkpoints into the local folder, so the
/// newest intact one (its checksum verified) is taken, wherever the run last ran.
/// </summary>
internal sealed class S3RunFolder
{
    private static readonly string[] MetricsFiles = ["metrics.jsonl", "metrics.csv"];

    private readonly int _keep;
    private readonly ILogger _log;
    private readonly ObjectStoreOptions _store;

    /// <param name="localFolder">The local working folder; default TMPDIR/contrastive-s3/bucket/prefix.</param>
    public S3RunFolder(string uri, int keep, ILogger log, string? localFolder = null, ObjectStoreOptions? store = null)
    {
        var (bucket, key) = ObjectStore.Parse(uri);
        string prefix = key.Trim('/');
        if (prefix.Split('/').Any(s => s is "." or ".."))
            throw new UsageException($"--out {uri}: a prefix with '.' or '..' segments is not a run folder");
        Prefix = $"s3://{bucket}/{prefix}{(prefix.Length > 0 ? "/" : "")}";
        LocalFolder = localFolder ?? Path.Combine(Path.GetTempPath(), "contrastive-s3", bucket, prefix.Replace('/', Path.DirectorySeparatorChar));
        _keep = keep;
        _log = log;
        _store = store ?? new();
    }

    /// <summary>The run's prefix, ending in '/'.</summary>
    public string Prefix { get; }

    /// <summary>Where the run works on this machine.</summary>
    public string LocalFolder { get; }

    /// <summary>The object of a local file of the run.</summary>
    public string UriOf(string localPath) => Prefix + Path.GetFileName(localPath);

    /// <summary>
    /// Before a resume: the bucket's newest checkpoints (as many as are kept) not already here, and its metrics files when
    /// there are none here, are downloaded into the local folder.
    /// </summary>
    public async Task FetchForResumeAsync(CancellationToken ct)
    {
        Directory.CreateDirectory(LocalFolder);
        var objects = await ObjectFiles.ListAllAsync(Prefix, ct, _store).ConfigureAwait(false);
        var checkpoints = objects.Where(o => IsCheckpoint(o.Uri)).OrderByDescending(o => o.Uri, StringComparer.Ordinal).Take(Math.Max(1, _keep)).ToList();
        foreach (var (uri, size) in checkpoints)
        {
            string local = Path.Combine(LocalFolder, Name(uri));
            if (File.Exists(local) && new FileInfo(local).Length == size) continue;
            await ObjectFiles.DownloadAsync(uri, local, ct, _store).ConfigureAwait(false);
            _log.LogInformation("Fetched {Uri} ({Mb:F1} MB) for the resume", uri, size / 1e6);
        }
        foreach (var name in MetricsFiles)
        {
            string local = Path.Combine(LocalFolder, name);
            if (!File.Exists(local) && objects.Any(o => o.Uri == Prefix + name)) await ObjectFiles.DownloadAsync(Prefix + name, local, ct, _store).ConfigureAwait(false);
        }
    }

    /// <summary>Uploads a checkpoint just written, then the metrics files, then removes the bucket's checkpoints beyond the newest kept.</summary>
    public void Upload(string checkpoint)
    {
        // Called from the training loop right after the checkpoint is on disk: the run goes on once it is in the bucket too.
        int parts = ObjectFiles.UploadAsync(checkpoint, UriOf(checkpoint), default, _store).GetAwaiter().GetResult();
        _log.LogInformation("Uploaded {Uri}{Parts}", UriOf(checkpoint), parts > 1 ? $" in {parts} parts" : "");
        UploadMetrics();
        var old = ObjectFiles.ListAllAsync(Prefix, default, _store).GetAwaiter().GetResult()
            .Where(o => IsCheckpoint(o.Uri)).OrderByDescending(o => o.Uri, StringComparer.Ordinal).Skip(Math.Max(1, _keep));
        foreach (var (uri, _) in old) ObjectFiles.DeleteAsync(uri, default, _store).GetAwaiter().GetResult();
    }

    /// <summary>Uploads metrics.jsonl and metrics.csv as they are now.</summary>
    public void UploadMetrics()
    {
        foreach (var name in MetricsFiles)
        {
            string local = Path.Combine(LocalFolder, name);
            if (!File.Exists(local)) continue;
            // A copy: the run goes on appending to the file while it uploads.
            string snapshot = local + ".upload";
            File.Copy(local, snapshot, overwrite: true);
            try { ObjectFiles.UploadAsync(snapshot, Prefix + name, default, _store).GetAwaiter().GetResult(); }
            finally { File.Delete(snapshot); }
        }
    }

    private static string Name(string uri) => uri[(uri.LastIndexOf('/') + 1)..];

    private bool IsCheckpoint(string uri)
    {
        string name = Name(uri);
        return uri.Length == Prefix.Length + name.Length && name.StartsWith("ckpt-", StringComparison.Ordinal) && name.EndsWith(".ckpt", StringComparison.Ordinal);
    }
}
