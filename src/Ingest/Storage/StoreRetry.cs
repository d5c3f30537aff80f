using System.Net;
using Amazon.Runtime;
using Amazon.S3;

namespace Contrastive.Ingest;

/// <summary>
/// Object storage's one retry rule: a transient failure (a connection reset or refused, a timeout, 5xx, 429 and S3's
/// SlowDown, a body shorter than asked) is tried again after an exponential backoff with jitter (the delay doubles from
/// <see cref="ObjectStoreOptions.InitialBackoff"/> and is drawn between half and all of it, so that many readers do not
/// come back in step), up to <see cref="ObjectStoreOptions.MaxAttempts"/> failures in a row, and within the process's
/// <see cref="ObjectStoreOptions.RetryBudget"/>. Every request and retry is counted (<see cref="ObjectStoreStats"/>).
/// </summary>
internal static class StoreRetry
{
    /// <summary>Runs one request until it succeeds, retrying transient failures; the last failure is rethrown.</summary>
    public static async Task<T> RunAsync<T>(string uri, string what, ObjectStoreOptions options, Func<CancellationToken, Task<T>> request, CancellationToken ct)
    {
        for (int attempt = 1; ; attempt++)
        {
            ObjectStoreStats.Request();
            try
            {
                return await request(ct).ConfigureAwait(false);
            }
            catch (Exception e) when (IsTransient(e, ct) && attempt < options.MaxAttempts)
            {
                await BackoffAsync(uri, what, options, attempt, e, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Counts a retry after failure number <paramref name="attempt"/> in a row and waits its backoff.
    /// </summary>
    /// <exception cref="IOException">The process's retry budget is spent; the message says so and gives the last error.</exception>
    public static async Task BackoffAsync(string uri, string what, ObjectStoreOptions options, int attempt, Exception error, CancellationToken ct)
    {
        long retries = ObjectStoreStats.Retry();
        if (retries > options.RetryBudget)
            throw new IOException($"'{uri}': {what} failed again, and this process has retried object storage {retries - 1} times (ObjectStore:RetryBudget {options.RetryBudget}): " +
                $"the store is failing too often to go on; last error: {error.Message}", error);
        double full = options.InitialBackoff.TotalMilliseconds * Math.Pow(2, attempt - 1);
        await Task.Delay(TimeSpan.FromMilliseconds(full * (0.5 + 0.5 * Random.Shared.NextDouble())), ct).ConfigureAwait(false);
    }

    /// <summary>Whether <paramref name="e"/> is worth another try (not our own cancellation, not 403/404, not missing credentials).</summary>
    public static bool IsTransient(Exception e, CancellationToken ct) => e switch
    {
        OperationCanceledException => !ct.IsCancellationRequested, // a request timeout, not our cancellation
        _ when ObjectStore.IsMissingCredentials(e) => false, // no retry can find credentials
        AmazonS3Exception { StatusCode: HttpStatusCode.NotFound or HttpStatusCode.Forbidden } => false,
        AmazonServiceException s => (int)s.StatusCode >= 500 || (int)s.StatusCode == 429 || s.StatusCode == 0 || s.ErrorCode == "SlowDown",
        // The SDK reports its request timeout as a TimeoutException (found by the stalling proxy's test).
        TimeoutException or AmazonClientException or HttpRequestException or IOException or System.Net.Sockets.SocketException => true,
        _ => false,
    };
}
