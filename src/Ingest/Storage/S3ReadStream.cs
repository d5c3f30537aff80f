using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Contrastive.Ingest;

/// <summary>
/// A read-only, seekable stream over one object, made of ranged GETs: so Parquet readers can seek to the footer and
/// to column chunks without downloading the object. Small reads go through a cache of two blocks (their size follows
/// <see cref="ReadPattern"/>); large positional reads (whole column chunks) are fetched directly; ranges fetched
/// elsewhere (<see cref="Overlay"/>) are read from memory. Transient failures (connection errors, 5xx, 429 and SlowDown,
/// timeouts, a body that ends early) are retried by <see cref="StoreRetry"/>'s rule, resuming at the last byte
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
    private readonly ReadPattern _pattern;
    private int _nextVictim;
    private long _position;
    /// <summary>Where the last block fetched ended, and its size: a miss there is a read going on in order.</summary>
    private long _lastEnd = -1;
    private int _lastSize;

    /// <summary>Byte ranges already in memory (a footer read when the dataset was opened, a row group read ahead): reads inside one are served from it.</summary>
    private readonly List<(long Start, ReadOnlyMemory<byte> Bytes)> _overlays = new(2);

    /// <summary>A random-pattern block at a new place: enough for a Parquet footer and its length, or a label column chunk.</summary>
    internal const int FirstBlock = 64 << 10;

    public S3ReadStream(IAmazonS3 client, string uri, long length, ObjectStoreOptions options, ReadPattern pattern = ReadPattern.Random)
    {
        _client = client;
        _uri = uri;
        (_bucket, _key) = ObjectStore.Parse(uri);
        Length = length;
        _options = options;
        _pattern = pattern;
    }

    public static async Task<S3ReadStream> OpenAsync(string uri, long? length, ObjectStoreOptions options, CancellationToken ct, ReadPattern pattern = ReadPattern.Random)
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
        return new S3ReadStream(client, uri, length.Value, options, pattern);
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

    /// <summary>
    /// Serves reads of [<paramref name="start"/>, +<paramref name="bytes"/>.Length) from <paramref name="bytes"/>, bytes of
    /// this object already fetched, until <see cref="Forget"/>: no request is made for them.
    /// </summary>
    internal void Overlay(long start, ReadOnlyMemory<byte> bytes)
    {
        if (start < 0 || start + bytes.Length > Length) throw new ArgumentOutOfRangeException(nameof(start), $"'{_uri}' is {Length} bytes; an overlay of {bytes.Length} at {start} does not fit");
        Forget(start);
        _overlays.Add((start, bytes));
    }

    /// <summary>Drops the overlay at <paramref name="start"/> (its bytes may be reused by their owner from now).</summary>
    internal void Forget(long start) => _overlays.RemoveAll(o => o.Start == start);

    /// <summary>The bytes of the overlay holding <paramref name="position"/> from that position on; empty when none holds it.</summary>
    private ReadOnlyMemory<byte> OverlayAt(long position)
    {
        foreach (var (start, bytes) in _overlays)
            if (position >= start && position < start + bytes.Length) return bytes[(int)(position - start)..];
        return default;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        if (_position >= Length || buffer.IsEmpty) return 0;
        int want = (int)Math.Min(buffer.Length, Length - _position);
        if (OverlayAt(_position) is { IsEmpty: false } held)
        {
            int n = Math.Min(want, held.Length);
            held.Span[..n].CopyTo(buffer.Span);
            _position += n;
            return n;
        }
        if (want >= _options.BlockSize)
        {
            await ReadExactlyAsync(buffer[..want], _position, ct).ConfigureAwait(false);
            _position += want;
            return want;
        }
        int done = 0;
        while (done < want)
        {
            int b = await BlockAtAsync(_position, want - done, ct).ConfigureAwait(false);
            int inBlock = (int)(_position - _blockStart[b]);
            int n = Math.Min(want - done, _blockLength[b] - inBlock);
            _blocks[b].AsSpan(inBlock, n).CopyTo(buffer.Span[done..]);
            done += n;
            _position += n;
        }
        return done;
    }

    /// <summary>
    /// The block holding <paramref name="position"/>, fetched when neither holds it. Sequential: the aligned block of
    /// BlockSize. Random: <see cref="FirstBlock"/> at a new place, doubling while misses follow on from the last block (up
    /// to BlockSize), never less than the <paramref name="need"/> bytes the read still wants; near the object's end the
    /// block ends at the end, so a Parquet footer (its length in the last 8 bytes, then the footer before them) is one
    /// request of 64 KiB instead of two of 4 MiB.
    /// </summary>
    private async ValueTask<int> BlockAtAsync(long position, int need, CancellationToken ct)
    {
        for (int i = 0; i < 2; i++)
            if (_blockStart[i] >= 0 && position >= _blockStart[i] && position < _blockStart[i] + _blockLength[i]) return i;
        int v = _nextVictim;
        _nextVictim ^= 1;
        long start;
        int length;
        if (_pattern == ReadPattern.Sequential)
        {
            start = position / _options.BlockSize * _options.BlockSize;
            length = (int)Math.Min(_options.BlockSize, Length - start);
        }
        else
        {
            int size = position == _lastEnd ? (int)Math.Min(_options.BlockSize, 2L * _lastSize) : FirstBlock;
            length = (int)Math.Min(Math.Max(Math.Min(size, _options.BlockSize), need), Length);
            start = Math.Min(position, Length - length);
        }
        await FillAsync(v, start, length, ct).ConfigureAwait(false);
        return v;
    }

    /// <summary>
    /// Fetches [<paramref name="offset"/>, +<paramref name="length"/>) into a block now, in one request of exactly that
    /// range, when no block holds it and it fits one: the small column chunks of a Parquet row group, read next through
    /// the stream in small reads, come in one exact request instead of a block each.
    /// </summary>
    public async ValueTask PrefetchAsync(long offset, long length, CancellationToken ct)
    {
        if (length <= 0 || length > _options.BlockSize || offset < 0 || offset + length > Length) return;
        if (OverlayAt(offset) is { IsEmpty: false } held && held.Length >= length) return; // read ahead: in memory already
        for (int i = 0; i < 2; i++)
            if (_blockStart[i] >= 0 && offset >= _blockStart[i] && offset + length <= _blockStart[i] + _blockLength[i]) return;
        int v = _nextVictim;
        _nextVictim ^= 1;
        await FillAsync(v, offset, (int)length, ct).ConfigureAwait(false);
    }

    private async ValueTask FillAsync(int v, long start, int length, CancellationToken ct)
    {
        // Blocks come from the shared pool (returned on Dispose): opening many shards would otherwise allocate large arrays
        // a shard, garbage the next moment, and a full GC follows every few.
        if (_blocks[v] is { } old && old.Length < length)
        {
            _blocks[v] = null!;
            System.Buffers.ArrayPool<byte>.Shared.Return(old);
        }
        _blocks[v] ??= System.Buffers.ArrayPool<byte>.Shared.Rent(length);
        _blockStart[v] = -1;
        await ReadExactlyAsync(_blocks[v].AsMemory(0, length), start, ct).ConfigureAwait(false);
        _blockStart[v] = start;
        _blockLength[v] = length;
        (_lastEnd, _lastSize) = (start + length, length);
    }

    /// <summary>Fetches exactly <paramref name="buffer"/>.Length bytes from <paramref name="offset"/> with ranged GETs, retrying transient failures.</summary>
    public ValueTask ReadExactlyAsync(Memory<byte> buffer, long offset, CancellationToken ct)
    {
        if (OverlayAt(offset) is { IsEmpty: false } held && held.Length >= buffer.Length)
        {
            held[..buffer.Length].CopyTo(buffer);
            return ValueTask.CompletedTask;
        }
        return new(FetchAsync(offset, buffer.Length, done => buffer[(int)done..], null, ct));
    }

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

/// <summary>How a <see cref="S3ReadStream"/> fetches for small reads.</summary>
internal enum ReadPattern
{
    /// <summary>Parquet: reads jump (footer, column chunks); small blocks at a new place, growing while reads go on in order.</summary>
    Random,

    /// <summary>Tar shards: read front to back; aligned blocks of ObjectStoreOptions.BlockSize.</summary>
    Sequential,
}
