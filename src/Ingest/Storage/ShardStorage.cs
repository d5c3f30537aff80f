namespace Contrastive.Ingest;

/// <summary>Opens a shard, local or in object storage (or its copy in the shard cache), as a seekable stream plus positional reads.</summary>
internal static class ShardStorage
{
    /// <param name="store">Object storage's requests and retries (s3:// shards).</param>
    /// <param name="cache">The read pass's shard cache: an s3:// shard it holds is read from its local copy.</param>
    /// <param name="pattern">How reads go (object storage fetches for small reads accordingly): Parquet jumps, tar shards go in order.</param>
    public static async Task<(Stream Stream, IRangeReadable Ranges)> OpenAsync(string shard, long? length, ObjectStoreOptions store, CancellationToken ct,
        CacheSession? cache = null, ReadPattern pattern = ReadPattern.Random)
    {
        if (ObjectStore.IsS3(shard))
        {
            if (cache is not null && await cache.OpenAsync(shard, ct).ConfigureAwait(false) is EntryStream local)
                return (local, new LocalRangeReader(local.Handle, shard));
            var s3 = await S3ReadStream.OpenAsync(shard, length, store, ct, pattern).ConfigureAwait(false);
            return (s3, s3);
        }
        try
        {
            var fs = new FileStream(shard, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
            return (fs, new LocalRangeReader(fs.SafeFileHandle, shard));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ShardFormatException(shard, null, $"Shard '{shard}' cannot be opened: {e.Message}", e);
        }
    }
}
