using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Contrastive.Ingest;

/// <summary>
/// A read-only, seekable stream over one object, made of ranged GETs: so Parquet readers can seek to the footer and
/// to column chunks without downloading the object. Small reads go through a cache of two aligned blocks; large
/// positional reads (whole column chunks) are fetched directly. Transient failures (connection errors, 5xx, 429 and
/// SlowDown, timeouts, a body that ends early) are retried by <see cref="StoreRetry"/>'s rule, resuming at the last byte
/// received; 403 and 404 fail at once. Every error names the object.
/// </summary>
internal sealed class S3ReadStream : Stream, IRangeReadable
{
    private readonly IAmazonS3 _client;
    private readonly string _bucket, _key, _uri;
    private readonly ObjectStoreOptions _options;
    private readonly byte[][] _blocks = new byte[2][];
    private readonly long[] _blockStart = [-1, -1];
    private readonly int[] _blockLength = new int[2];
    private int _nextVictim;
    private long _position;

    public S3ReadStream(IAmazonS3 client, string uri, long length, ObjectStoreOptions options)
    {
        _client = client;
        _uri = uri;
        (_bucket, _key) = ObjectStore.Parse(uri);
        Length = length;
        _options = options;
    }

    public static async Task<S3ReadStream> OpenAsync(string uri, long? length, ObjectStoreOptions options, CancellationToken ct)
    {
        var client = ObjectStore.Client(uri, options);
        if (length is null)
        {
            var (bucket, key) = ObjectStore.Parse(uri);
            try
            {
                var head = await StoreRetry.RunAsync(uri, "reading its size (HEAD)", options, t => client.GetObjectMetadataAsync(bucket, key, t), ct).ConfigureAwait(false);
                length = head.ContentLength;
            }
            catch (AmazonS3Exception e) when (e.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Forbidden)
            {
                throw new ShardFormatException(uri, null, $"'{uri}': {(int)e.StatusCode} {e.ErrorCode}: {e.Message}", e);
            }
            catch (Exception e) when (ObjectStore.IsMissingCredentials(e))
            {
                throw new DataSourceException(uri, $"Cannot read '{uri}': {ObjectStore.CredentialsHelp}.", e);
            }
        }
        return new S3ReadStream(client, uri, length.Value, options);
    }

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length { get; }

    public override long Position
    {
        get => _position;
        set => _position = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }

    public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
    {
        SeekOrigin.Begin => offset,
        SeekOrigin.Current => _position + offset,
        _ => Length + offset,
    };

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override int Read(Span<byte> buffer)
    {
        var rented = System.Buffers.ArrayPool<byte>.Shared.Rent(buffer.Length);
        try
        {
            int n = Read(rented, 0, buffer.Length);
            rented.AsSpan(0, n).CopyTo(buffer);
            return n;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        if (_position >= Length || buffer.IsEmpty) return 0;
        int want = (int)Math.Min(buffer.Length, Length - _position);
        if (want >= _options.BlockSize)
        {
            await ReadExactlyAsync(buffer[..want], _position, ct).ConfigureAwait(false);
            _position += want;
            return want;
        }
        int done = 0;
        while (done < want)
        {
            int b = await BlockAtAsync(_position, ct).ConfigureAwait(false);
            int inBlock = (int)(_position - _blockStart[b]);
            int n = Math.Min(want - done, _blockLength[b] - inBlock);
            _blocks[b].AsSpan(inBlock, n).CopyTo(buffer.Span[done..]);
            done += n;
            _position += n;
        }
        return done;
    }

    private async ValueTask<int> BlockAtAsync(long position, CancellationToken ct)
    {
        long start = position / _options.BlockSize * _options.BlockSize;
        for (int i = 0; i < 2; i++) if (_blockStart[i] == start) return i;
        int v = _nextVictim;
        _nextVictim ^= 1;
        int length = (int)Math.Min(_options.BlockSize, Length - start);
        // Blocks come from the shared pool (returned on Dispose): opening many shards (each reads its first and last block)
        // would otherwise allocate two large arrays a shard, garbage the next moment, and a full GC follows every few.
        _blocks[v] ??= System.Buffers.ArrayPool<byte>.Shared.Rent(_options.BlockSize);
        _blockStart[v] = -1;
        await ReadExactlyAsync(_blocks[v].AsMemory(0, length), start, ct).ConfigureAwait(false);
        _blockStart[v] = start;
        _blockLength[v] = length;
        return v;
    }

    /// <summary>Fetches exactly <paramref name="buffer"/>.Length bytes from <paramref name="offset"/> with ranged GETs, retrying transient failures.</summary>
    public ValueTask ReadExactlyAsync(Memory<byte> buffer, long offset, CancellationToken ct) =>
        new(FetchAsync(offset, buffer.Length, done => buffer[(int)done..], null, ct));

    /// <summary>
    /// Streams <paramref name="count"/> bytes from <paramref name="offset"/> to <paramref name="write"/> in pieces of a small
    /// pooled buffer: one ranged GET (more only when a transient failure cuts it, resuming at the first byte not yet
    /// written), so a whole object is fetched in one request without a buffer of its size. A failure of
    /// <paramref name="write"/> (a full disk) ends the copy at once: it is not the store's, and is not retried.
    /// </summary>
    public async Task CopyRangeAsync(long offset, long count, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> write, CancellationToken ct)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(CopyBuffer);
        try
        {
            await FetchAsync(offset, count, done => buffer.AsMemory(0, (int)Math.Min(CopyBuffer, count - done)),
                (n, token) => write(buffer.AsMemory(0, n), token), ct).ConfigureAwait(false);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// The one request loop: ranged GETs of <paramref name="count"/> bytes from <paramref name="offset"/>, each body read
    /// into <paramref name="target"/> (given the bytes received so far) and handed to <paramref name="consumed"/>;
    /// transient failures are retried by the store's rule, resuming at the first byte not yet received.
    /// </summary>
    private async Task FetchAsync(long offset, long count, Func<long, Memory<byte>> target, Func<int, CancellationToken, ValueTask>? consumed, CancellationToken ct)
    {
        if (offset < 0 || offset + count > Length)
            throw new ShardFormatException(_uri, null, $"'{_uri}' is {Length} bytes; a read of {count} bytes at {offset} runs past its end (truncated object?)");
        long done = 0;
        for (int attempt = 1; done < count; attempt++)
        {
            try
            {
                var request = new GetObjectRequest { BucketName = _bucket, Key = _key, ByteRange = new ByteRange(offset + done, offset + count - 1) };
                ObjectStoreStats.Request();
                using var response = await _client.GetObjectAsync(request, ct).ConfigureAwait(false);
                await using var body = response.ResponseStream;
                while (done < count)
                {
                    int n = await body.ReadAsync(target(done), ct).ConfigureAwait(false);
                    if (n == 0) throw new IOException($"the response body ended after {done} of {count} bytes");
                    if (consumed is not null)
                    {
                        try { await consumed(n, ct).ConfigureAwait(false); }
                        catch (Exception e) { throw new ConsumerFailed(e); }
                    }
                    done += n;
                    ObjectStoreStats.Received(n);
                    attempt = 0; // progress resets the count: only consecutive failures count
                }
            }
            catch (ConsumerFailed e)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException!);
            }
            catch (AmazonS3Exception e) when (e.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Forbidden)
            {
                throw new ShardFormatException(_uri, null, $"'{_uri}': {(int)e.StatusCode} {e.ErrorCode}: {e.Message}", e);
            }
            catch (Exception e) when (StoreRetry.IsTransient(e, ct))
            {
                // A body cut short or a reset mid-body resumes at the first byte not yet received.
                if (attempt >= _options.MaxAttempts)
                    throw new IOException($"'{_uri}': reading bytes {offset + done}-{offset + count - 1} failed {attempt} times in a row; last error: {e.Message}", e);
                await StoreRetry.BackoffAsync(_uri, $"reading bytes {offset + done}-{offset + count - 1}", _options, attempt, e, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>A failure of the code the bytes were handed to, carried past the store's retry rule.</summary>
    private sealed class ConsumerFailed(Exception inner) : Exception(inner.Message, inner);

    /// <summary>The piece <see cref="CopyRangeAsync"/> reads at a time: under the large object heap's threshold.</summary>
    private const int CopyBuffer = 64 << 10;

    protected override void Dispose(bool disposing)
    {
        for (int i = 0; i < _blocks.Length; i++)
            if (Interlocked.Exchange(ref _blocks[i], null!) is { } block) System.Buffers.ArrayPool<byte>.Shared.Return(block);
        base.Dispose(disposing);
    }

    public override void Flush() { }
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
