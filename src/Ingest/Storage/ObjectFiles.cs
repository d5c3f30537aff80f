using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Contrastive.Ingest;

/// <summary>
/// Whole files to and from object storage (s3://bucket/key), for run folders kept there: upload (one PUT, or a multipart upload
/// in parts of <see cref="ObjectStoreOptions.UploadPartSizeMb"/> for larger files; an object appears only once complete),
/// download (to a temporary file, renamed into place), list and delete. Same endpoint and credentials as reads.
/// </summary>
public static class ObjectFiles
{
    /// <summary>Uploads <paramref name="path"/> to <paramref name="uri"/>; returns the number of parts (1 for a single PUT).</summary>
    /// <exception cref="DataSourceException">The store refused or could not be reached; the message names the URI.</exception>
    public static async Task<int> UploadAsync(string path, string uri, CancellationToken ct = default, ObjectStoreOptions? options = null)
    {
        var (bucket, key) = ObjectStore.Parse(uri);
        options ??= new();
        var client = ObjectStore.Client(uri, options);
        long size = new FileInfo(path).Length, part = (long)options.UploadPartSizeMb << 20;
        return await Guard(uri, "Uploading to", async () =>
        {
            if (size <= part)
            {
                // Plain bodies (not aws-chunked), which every S3-compatible store takes.
                await StoreRetry.RunAsync(uri, "uploading", options, t => client.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, FilePath = path, UseChunkEncoding = false }, t), ct).ConfigureAwait(false);
                return 1;
            }
            var upload = await StoreRetry.RunAsync(uri, "starting a multipart upload", options,
                t => client.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = bucket, Key = key }, t), ct).ConfigureAwait(false);
            try
            {
                var etags = new List<PartETag>();
                for (long offset = 0; offset < size; offset += part)
                {
                    int number = etags.Count + 1;
                    var r = await StoreRetry.RunAsync(uri, $"uploading part {number}", options, t => client.UploadPartAsync(new UploadPartRequest
                    {
                        BucketName = bucket, Key = key, UploadId = upload.UploadId, PartNumber = number,
                        FilePath = path, FilePosition = offset, PartSize = Math.Min(part, size - offset), UseChunkEncoding = false,
                    }, t), ct).ConfigureAwait(false);
                    etags.Add(new PartETag(number, r.ETag));
                }
                await StoreRetry.RunAsync(uri, "completing a multipart upload", options, t => client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
                {
                    BucketName = bucket, Key = key, UploadId = upload.UploadId, PartETags = etags,
                }, t), ct).ConfigureAwait(false);
                return etags.Count;
            }
            catch
            {
                try { await client.AbortMultipartUploadAsync(bucket, key, upload.UploadId, CancellationToken.None).ConfigureAwait(false); }
                catch (Exception e) when (e is AmazonServiceException or HttpRequestException or IOException) { }
                throw;
            }
        }).ConfigureAwait(false);
    }

    /// <summary>Downloads <paramref name="uri"/> to <paramref name="path"/> (through a temporary file beside it).</summary>
    public static Task DownloadAsync(string uri, string path, CancellationToken ct = default, ObjectStoreOptions? options = null)
    {
        var (bucket, key) = ObjectStore.Parse(uri);
        options ??= new();
        var client = ObjectStore.Client(uri, options);
        return Guard(uri, "Downloading", () => StoreRetry.RunAsync(uri, "downloading", options, async t =>
        {
            // A retry starts the temporary file again: the object is written whole or not at all.
            using var r = await client.GetObjectAsync(bucket, key, t).ConfigureAwait(false);
            string tmp = path + ".download";
            await using (var file = File.Create(tmp))
                await r.ResponseStream.CopyToAsync(file, t).ConfigureAwait(false);
            ObjectStoreStats.Received(new FileInfo(tmp).Length);
            File.Move(tmp, path, overwrite: true);
            return 0;
        }, ct));
    }

    /// <summary>The objects under a prefix (every key), sorted by key.</summary>
    public static Task<IReadOnlyList<(string Uri, long Size)>> ListAllAsync(string prefixUri, CancellationToken ct = default, ObjectStoreOptions? options = null) =>
        ObjectStore.ListAsync(prefixUri, [""], ct, options);

    public static Task DeleteAsync(string uri, CancellationToken ct = default, ObjectStoreOptions? options = null)
    {
        var (bucket, key) = ObjectStore.Parse(uri);
        options ??= new();
        var client = ObjectStore.Client(uri, options);
        return Guard(uri, "Deleting", () => StoreRetry.RunAsync(uri, "deleting", options, async t => { await client.DeleteObjectAsync(bucket, key, t).ConfigureAwait(false); return 0; }, ct));
    }

    private static async Task<T> Guard<T>(string uri, string what, Func<Task<T>> action)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (AmazonS3Exception e)
        {
            throw new DataSourceException(uri, $"{what} '{uri}' failed: {(int)e.StatusCode} {e.ErrorCode}: {e.Message}", e);
        }
        catch (Exception e) when (ObjectStore.IsMissingCredentials(e))
        {
            throw new DataSourceException(uri, $"{what} '{uri}' failed: {ObjectStore.CredentialsHelp}.", e);
        }
        catch (Exception e) when (e is AmazonClientException or HttpRequestException or IOException)
        {
            throw new DataSourceException(uri, $"{what} '{uri}' failed: {e.Message}", e);
        }
    }
}
