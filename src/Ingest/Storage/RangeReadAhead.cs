using System.Buffers;

namespace Contrastive.Ingest;

/// <summary>
/// Reads ahead the byte ranges a read pass will take from object storage, in the order it will take them: up to
/// <see cref="ObjectStoreOptions.ReadAheadRequests"/> fetches at once and <see cref="ObjectStoreOptions.ReadAheadMb"/>
/// held (fetched or in flight, not yet taken and released), always at least the next one. Without it a pass over
/// s3:// Parquet shards reads one row group at a time, each a request of the store's latency after the other.
/// A range taken out of order (a resume skips units) drops the ones before it; a range whose fetch failed is not
/// given (the reader reads it itself, with the store's retries and its own error).
/// </summary>
internal sealed class RangeReadAhead : IAsyncDisposable
{
    /// <summary>One range: the object, its size when known, and the bytes.</summary>
    internal sealed record Range(string Uri, long? Size, long Offset, int Length);

    private readonly Range?[] _ranges;
    private readonly Task<byte[]>?[] _fetches;
    private readonly ObjectStoreOptions _store;
    private readonly long _budget;
    private readonly int _requests;
    private readonly object _lock = new();
    private readonly CancellationTokenSource _stop = new();
    private int _launched, _next, _inFlight;
    private long _held;

    /// <param name="ranges">In the order they will be taken; null entries are read directly (nothing is fetched for them).</param>
    public RangeReadAhead(ObjectStoreOptions store, IReadOnlyList<Range?> ranges)
    {
        _store = store;
        _ranges = [.. ranges];
        _fetches = new Task<byte[]>?[_ranges.Length];
        _budget = (long)store.ReadAheadMb << 20;
        _requests = Math.Max(1, store.ReadAheadRequests);
        Pump();
    }

    /// <summary>The most bytes held at once (fetched or in flight, not yet released).</summary>
    public long PeakHeld { get; private set; }

    /// <summary>The next range's bytes, once fetched: taken until the returned lease is disposed. Null when it was not read ahead.</summary>
    public async ValueTask<Lease?> TakeAsync(string uri, long offset, CancellationToken ct)
    {
        int found = -1;
        lock (_lock)
        {
            for (int i = _next; i < _ranges.Length; i++)
                if (_ranges[i] is { } r && r.Offset == offset && string.Equals(r.Uri, uri, StringComparison.Ordinal)) { found = i; break; }
            if (found < 0) return null;
            for (int i = _next; i < found; i++) Drop(i); // skipped (a resume): what was fetched for them goes
            _next = found;
        }
        Pump(); // starts it if the budget had held it back and allows it now
        Task<byte[]> fetch;
        lock (_lock)
        {
            // Still not started (a resume skipped ranges still in flight, their bytes not yet given back): it starts now, over
            // the budget by at most what is on its way out; the reader needs it next either way.
            fetch = _fetches[found] ??= Launch(_ranges[found]!);
            _launched = Math.Max(_launched, found + 1);
            _next = found + 1;
        }
        try
        {
            var bytes = await fetch.WaitAsync(ct).ConfigureAwait(false);
            return new Lease(this, _ranges[found]!, bytes);
        }
        catch (Exception) when (!ct.IsCancellationRequested)
        {
            Release(_ranges[found]!.Length, null);
            return null;
        }
    }

    private void Pump()
    {
        lock (_lock)
        {
            while (_launched < _ranges.Length && _inFlight < _requests && !_stop.IsCancellationRequested)
            {
                if (_launched < _next || _ranges[_launched] is not { } r)
                {
                    _launched++; // taken or skipped before its turn, or not read ahead
                    continue;
                }
                if (_held > 0 && _held + r.Length > _budget) break;
                _fetches[_launched++] = Launch(r);
            }
        }
    }

    /// <summary>Starts fetching <paramref name="r"/> (under the lock).</summary>
    private Task<byte[]> Launch(Range r)
    {
        _held += r.Length;
        PeakHeld = Math.Max(PeakHeld, _held);
        _inFlight++;
        return Task.Run(() => FetchAsync(r));
    }

    private async Task<byte[]> FetchAsync(Range r)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(r.Length);
        try
        {
            await using var stream = await S3ReadStream.OpenAsync(r.Uri, r.Size, _store, _stop.Token).ConfigureAwait(false);
            await stream.ReadExactlyAsync(buffer.AsMemory(0, r.Length), r.Offset, _stop.Token).ConfigureAwait(false);
            return buffer;
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
        finally
        {
            lock (_lock) _inFlight--;
            Pump();
        }
    }

    /// <summary>A range skipped: its bytes go back when its fetch ends.</summary>
    private void Drop(int i)
    {
        if (_fetches[i] is not { } fetch) return;
        int length = _ranges[i]!.Length;
        _ = fetch.ContinueWith(t => Release(length, t.IsCompletedSuccessfully ? t.Result : null), TaskScheduler.Default);
    }

    private void Release(int length, byte[]? buffer)
    {
        if (buffer is not null) ArrayPool<byte>.Shared.Return(buffer);
        lock (_lock) _held -= length;
        Pump();
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        Task<byte[]>?[] fetches;
        lock (_lock)
        {
            for (int i = _next; i < _ranges.Length; i++) Drop(i);
            _next = _ranges.Length;
            fetches = _fetches;
        }
        foreach (var f in fetches)
            if (f is not null)
                try { await f.ConfigureAwait(false); } catch { } // cancelled or failed: nothing to give back
        _stop.Dispose();
    }

    /// <summary>A range's bytes, lent until disposed.</summary>
    internal sealed class Lease(RangeReadAhead owner, Range range, byte[] bytes) : IDisposable
    {
        private byte[]? _bytes = bytes;

        public long Offset => range.Offset;

        public ReadOnlyMemory<byte> Bytes => _bytes is { } b ? b.AsMemory(0, range.Length) : throw new ObjectDisposedException(nameof(Lease));

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _bytes, null) is { } b) owner.Release(range.Length, b);
        }
    }
}
