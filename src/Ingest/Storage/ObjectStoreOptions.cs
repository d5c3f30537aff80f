namespace Contrastive.Ingest;

/// <summary>How object-storage reads behave. The endpoint, credentials and region come from the standard AWS configuration.</summary>
public sealed class ObjectStoreOptions
{
    /// <summary>Attempts per ranged read before it fails (transient errors: connection reset, 5xx, timeouts, a body that ends early). Default 5.</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>
    /// Retries of object-storage requests one process may make in all (every read, listing and upload of the run): a store
    /// that keeps failing ends the run with the reason instead of slowing it without end. Default 10000.
    /// </summary>
    [System.ComponentModel.DataAnnotations.Range(0, int.MaxValue)]
    public int RetryBudget { get; set; } = 10_000;

    /// <summary>First backoff; doubles each retry, and each wait is drawn between half and all of it (jitter). Default 200 ms.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Timeout of one request. Default 60 s.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Block size of the read cache for small reads (Parquet footers, tar streams). Default 4 MiB.</summary>
    public int BlockSize { get; set; } = 4 << 20;

    /// <summary>
    /// Without a shard cache: the most MB of Parquet row groups read ahead from object storage, in the order the pass
    /// will read them, fetched and not yet read (a rank holds this much more memory at most). 0 turns reading ahead off:
    /// one row group at a time, each a request or two of the store's latency. Default 256.
    /// </summary>
    [System.ComponentModel.DataAnnotations.Range(0, 1_000_000)]
    public int ReadAheadMb { get; set; } = 256;

    /// <summary>Without a shard cache: the most row groups fetched from object storage at once when reading ahead. Default 8.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 64)]
    public int ReadAheadRequests { get; set; } = 8;

    /// <summary>
    /// Uploads (checkpoints written to s3://): files larger than this go up in parts of this size (multipart upload). S3 takes
    /// parts of 5 MiB and more. Default 64.
    /// </summary>
    [System.ComponentModel.DataAnnotations.Range(5, 5120)]
    public int UploadPartSizeMb { get; set; } = 64;

    /// <summary>
    /// With a run folder in object storage (train --out s3://…): the local folder its checkpoints and metrics are written to
    /// before they go up. Default: TMPDIR/contrastive-s3/BUCKET/PREFIX.
    /// </summary>
    public string? WorkFolder { get; set; }

    /// <summary>The local shard cache reads go through (null: none). Set with <see cref="WithCache"/>.</summary>
    internal ShardCacheOptions? Cache { get; private set; }

    /// <summary>A copy of these options whose shard reads go through the local cache <paramref name="cache"/> (null: no cache).</summary>
    public ObjectStoreOptions WithCache(ShardCacheOptions? cache)
    {
        var copy = (ObjectStoreOptions)MemberwiseClone();
        copy.Cache = cache;
        return copy;
    }
}
