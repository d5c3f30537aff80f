using System.Collections.Concurrent;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Contrastive.Ingest;

/// <summary>
/// S3 and S3-compatible object storage for s3://bucket/prefix URIs, configured the standard AWS way: AWS_ENDPOINT_URL_S3
/// or AWS_ENDPOINT_URL (an S3-compatible store; path-style addressing is then used), AWS_ACCESS_KEY_ID /
/// AWS_SECRET_ACCESS_KEY or a profile, AWS_REGION (default us-east-1). Request and response checksums are computed only
/// when required, so stores that do not implement the newer checksum headers work.
/// </summary>
public static class ObjectStore
{
    private static readonly ConcurrentDictionary<string, IAmazonS3> Clients = new();

    /// <summary>Each listed object's ETag as the latest listing of this process gave it (the shard cache's check of an object's version).</summary>
    private static readonly ConcurrentDictionary<string, string> ETags = new(StringComparer.Ordinal);

    /// <summary>The ETag of <paramref name="uri"/> from this process's latest listing, or null when it was not listed.</summary>
    internal static string? ListedETag(string uri) => ETags.TryGetValue(uri, out var etag) ? etag : null;

    public static bool IsS3(string uri) => uri.StartsWith("s3://", StringComparison.OrdinalIgnoreCase);

    /// <summary>Splits s3://bucket/key into its parts.</summary>
    /// <exception cref="DataSourceException">The URI names no bucket.</exception>
    public static (string Bucket, string Key) Parse(string uri)
    {
        string rest = uri[5..];
        int slash = rest.IndexOf('/');
        string bucket = slash < 0 ? rest : rest[..slash];
        if (bucket.Length == 0) throw new DataSourceException(uri, $"'{uri}' names no bucket: use s3://bucket/prefix.");
        return (bucket, slash < 0 ? "" : rest[(slash + 1)..]);
    }

    /// <summary>What to do when no credentials are found (the SDK alone says "Failed to connect to EC2 instance metadata" after retries).</summary>
    internal const string CredentialsHelp =
        "no AWS credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (with AWS_SESSION_TOKEN for temporary ones), " +
        "or AWS_PROFILE naming a profile in ~/.aws/credentials (AWS_SHARED_CREDENTIALS_FILE for another file); on EC2, ECS or EKS the instance or task role is used";

    /// <summary>Whether any credential source other than the instance metadata service is visible to this process.</summary>
    internal static bool HasLocalCredentials()
    {
        static bool Set(string name) => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(name));
        if (Set("AWS_ACCESS_KEY_ID") || Set("AWS_PROFILE") || Set("AWS_WEB_IDENTITY_TOKEN_FILE") || Set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
            || Set("AWS_CONTAINER_CREDENTIALS_FULL_URI")) return true;
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string credentials = Environment.GetEnvironmentVariable("AWS_SHARED_CREDENTIALS_FILE") ?? Path.Combine(home, ".aws", "credentials");
        string config = Environment.GetEnvironmentVariable("AWS_CONFIG_FILE") ?? Path.Combine(home, ".aws", "config");
        return File.Exists(credentials) || File.Exists(config);
    }

    /// <summary>True when <paramref name="e"/> is the SDK failing to find credentials anywhere.</summary>
    internal static bool IsMissingCredentials(Exception e) =>
        e is AmazonClientException && e is not AmazonServiceException
        && (e.Message.Contains("credentials", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("instance metadata", StringComparison.OrdinalIgnoreCase));

    internal static IAmazonS3 Client(string uri, ObjectStoreOptions options)
    {
        string? endpoint = Environment.GetEnvironmentVariable("AWS_ENDPOINT_URL_S3") ?? Environment.GetEnvironmentVariable("AWS_ENDPOINT_URL");
        // An S3-compatible store (a custom endpoint) has no instance role: with no credentials in sight, say so at once.
        if (endpoint is not null && !HasLocalCredentials())
            throw new DataSourceException(uri, $"Cannot read '{uri}' from {endpoint}: {CredentialsHelp}.");
        string region = Environment.GetEnvironmentVariable("AWS_REGION") ?? Environment.GetEnvironmentVariable("AWS_DEFAULT_REGION") ?? "us-east-1";
        string cacheKey = $"{endpoint}|{region}|{Environment.GetEnvironmentVariable("AWS_ACCESS_KEY_ID")}|{options.RequestTimeout.Ticks}";
        return Clients.GetOrAdd(cacheKey, _ =>
        {
            var config = new AmazonS3Config
            {
                RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
                ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
                Timeout = options.RequestTimeout,
                MaxErrorRetry = 0, // every request is retried by StoreRetry's rule (counted, with jitter; ranged reads resume where the body stopped)
            };
            if (endpoint is not null)
            {
                config.ServiceURL = endpoint;
                config.ForcePathStyle = true;
                config.AuthenticationRegion = region;
            }
            else
            {
                config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(region);
            }
            return new AmazonS3Client(config);
        });
    }

    /// <summary>The objects under s3://bucket/prefix whose keys end in one of <paramref name="extensions"/>, sorted by key.</summary>
    /// <param name="options">Requests and retries (null: the defaults).</param>
    public static async Task<IReadOnlyList<(string Uri, long Size)>> ListAsync(string uri, IReadOnlyList<string> extensions, CancellationToken ct, ObjectStoreOptions? options = null)
    {
        var (bucket, prefix) = Parse(uri);
        var client = Client(uri, options ?? new());
        var found = new List<(string, long)>();
        var request = new ListObjectsV2Request { BucketName = bucket, Prefix = prefix };
        try
        {
            while (true)
            {
                var response = await StoreRetry.RunAsync(uri, "listing", options ?? new(), t => client.ListObjectsV2Async(request, t), ct).ConfigureAwait(false);
                foreach (var o in response.S3Objects ?? [])
                    if (extensions.Any(e => o.Key.EndsWith(e, StringComparison.OrdinalIgnoreCase)))
                    {
                        string objectUri = $"s3://{bucket}/{o.Key}";
                        found.Add((objectUri, o.Size ?? 0));
                        if (!string.IsNullOrEmpty(o.ETag)) ETags[objectUri] = o.ETag;
                    }
                if (response.IsTruncated != true) break;
                request.ContinuationToken = response.NextContinuationToken;
            }
        }
        catch (AmazonS3Exception e)
        {
            throw new DataSourceException(uri, $"Listing '{uri}' failed: {(int)e.StatusCode} {e.ErrorCode}: {e.Message}", e);
        }
        catch (Exception e) when (IsMissingCredentials(e))
        {
            throw new DataSourceException(uri, $"Cannot list '{uri}': {CredentialsHelp}.", e);
        }
        catch (Exception e) when (e is AmazonClientException or HttpRequestException or IOException)
        {
            throw new DataSourceException(uri, $"Listing '{uri}' failed: {e.Message} (is AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3 right?)", e);
        }
        found.Sort((a, b) => string.CompareOrdinal(a.Item1, b.Item1));
        return found;
    }
}
