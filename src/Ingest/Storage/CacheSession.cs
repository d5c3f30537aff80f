using System.IO.Hashing;

namespace Contrastive.Ingest;

/// <summary>
/// One pass of one reader over its read units through the shard cache. The reader gives, up front, the objects of the units
/// it will read in order (the epoch's order is a pure function of seed, epoch and rank, so this is exact, not a guess); the
/// session prefetches those objects in order of first need, at most <see cref="ShardCacheOptions.AheadBytes"/> ahead of the
/// reader and <see cref="ShardCacheOptions.Requests"/> at once, and holds each until the reader has read its last unit of
/// it. Only then does the entry become one the cache may delete to make room (<see cref="ShardCache.ReserveAsync"/>), so an
/// entry still ahead of this reader is never deleted for it. An object without room (every entry held or still needed) is
/// read from the store directly. Each object counts once as a hit (its entry was there and intact) or a miss.
/// </summary>
internal sealed class CacheSession : IAsyncDisposable
{

    private enum State { Waiting, Fetching, Ready, Direct, Done }

    private sealed class Item(string uri, long size, string key, int units)
    {
        public readonly string Uri = uri, Key = key;
        public readonly long Size = size;
        public int Remaining = units;
        public State State;
        public Task? Fetch;
        public FileStream? Held;
        public bool Counted;
    }

    private readonly ShardCache _cache;
    private readonly ShardCacheOptions _options;
    private readonly ObjectStoreOptions _store;
    private readonly List<Item> _order;
    private readonly Dictionary<string, Item> _items;
    private readonly List<string> _done = [];
    private readonly object _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _prefetch;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _inFlight;
    private bool _roomBlocked;

    private CacheSession(ShardCacheOptions options, ObjectStoreOptions store, List<Item> order)
    {
        _options = options;
        _store = store;
        _cache = ShardCache.For(options);
        _order = order;
        _items = order.ToDictionary(i => i.Uri, StringComparer.Ordinal);
        _prefetch = Task.Run(() => PrefetchAsync(_stop.Token));
    }

    /// <summary>Called with an object when the reader has read its last unit of it (it may close what it holds open of it).</summary>
    public Action<string>? Finished { get; set; }

    /// <summary>
    /// A session over <paramref name="units"/> (each read unit's object URI and size, in the order they will be read), or null
    /// when <paramref name="store"/> has no cache or no unit is in object storage.
    /// </summary>
    public static CacheSession? Start(ObjectStoreOptions store, IEnumerable<(string Uri, long? Size)> units)
    {
        if (store.Cache is not { } options) return null;
        var order = new List<Item>();
        var byUri = new Dictionary<string, Item>(StringComparer.Ordinal);
        foreach (var (uri, size) in units)
        {
            if (!ObjectStore.IsS3(uri) || size is not { } known) continue;
            if (byUri.TryGetValue(uri, out var item)) item.Remaining++;
            else order.Add(byUri[uri] = new Item(uri, known, ShardCache.KeyOf(uri, ObjectStore.ListedETag(uri), known), 1));
        }
        return order.Count == 0 ? null : new CacheSession(options, store, order);
    }

    /// <summary>
    /// The cached copy of <paramref name="uri"/> as a stream of its bytes (fetched now if the prefetch has not reached it and
    /// there is room), or null: read it from the store.
    /// </summary>
    public async ValueTask<Stream?> OpenAsync(string uri, CancellationToken ct)
    {
        if (!_items.TryGetValue(uri, out var item)) return null;
        while (true)
        {
            Task fetch;
            bool mine = false;
            lock (_gate)
            {
                switch (item.State)
                {
                    case State.Ready:
                        return EntryStream.Open(_cache.PathOf(item.Key), item.Size);
                    case State.Direct:
                    case State.Done:
                        return null;
                    case State.Waiting:
                        Start(item, onDemand: true);
                        mine = true;
                        break;
                }
                fetch = item.Fetch!;
            }
            if (mine)
            {
                await fetch.WaitAsync(ct).ConfigureAwait(false); // this read's own fetch: its failure is the read's
                continue;
            }
            try { await fetch.WaitAsync(ct).ConfigureAwait(false); }
            catch (Exception) when (!ct.IsCancellationRequested) { } // a prefetch that failed: the object is fetched again, for this read
        }
    }

    /// <summary>The reader has read one of its units of <paramref name="uri"/>; after the last, the entry is let go.</summary>
    public void UnitDone(string uri)
    {
        if (!_items.TryGetValue(uri, out var item)) return;
        FileStream? release = null;
        lock (_gate)
        {
            if (--item.Remaining > 0) return;
            release = item.Held;
            item.Held = null;
            if (item.State == State.Ready) _done.Add(item.Key);
            item.State = State.Done;
            _roomBlocked = false;
        }
        release?.Dispose();
        Finished?.Invoke(uri);
        Signal();
    }

    /// <summary>Fetches objects in order of first need, within the bytes and requests allowed ahead of the reader.</summary>
    private async Task PrefetchAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            Task changed;
            lock (_gate)
            {
                changed = _changed.Task;
                if (!_roomBlocked)
                {
                    long ahead = 0;
                    Item? first = null;
                    foreach (var i in _order)
                    {
                        if (i.State is State.Fetching or State.Ready) ahead += i.Size;
                        else if (i.State == State.Waiting) first ??= i;
                    }
                    if (first is null) return; // every object is fetched, being fetched, read directly or done with
                    if ((ahead == 0 || ahead + first.Size <= _options.AheadBytes) && _inFlight < _options.Requests)
                    {
                        Start(first, onDemand: false);
                        continue;
                    }
                }
            }
            // Wait for the reader to finish an object or a fetch to end (and look again every second).
            try { await changed.WaitAsync(TimeSpan.FromSeconds(1), ct).ConfigureAwait(false); }
            catch (TimeoutException) { }
            catch (OperationCanceledException) { return; }
        }
    }

    /// <summary>Starts fetching <paramref name="item"/> (under the gate).</summary>
    private void Start(Item item, bool onDemand)
    {
        item.State = State.Fetching;
        _inFlight++;
        item.Fetch = AcquireAsync(item, onDemand, _stop.Token);
    }

    /// <summary>
    /// Makes <paramref name="item"/> Ready (its entry intact on disk, held), Direct (no room: on demand), or Waiting again (no
    /// room yet for a prefetch, which tries again when the reader finishes an object). A failed fetch leaves it Waiting and throws.
    /// </summary>
    private async Task AcquireAsync(Item item, bool onDemand, CancellationToken ct)
    {
        var next = State.Waiting;
        try
        {
            await Task.Yield();
            if (_cache.TryOpen(item.Key, item.Size) is { } hit)
            {
                Count(item, hit: true);
                Set(item, State.Ready, hit);
                return;
            }
            string? temp = await _cache.ReserveAsync(item.Key, item.Size, _options.BudgetBytes, DoneKeys(), NeededKeys(), ct).ConfigureAwait(false);
            if (temp is null)
            {
                // Another process may have fetched it meanwhile.
                if (_cache.TryOpen(item.Key, item.Size) is { } late)
                {
                    Count(item, hit: true);
                    Set(item, State.Ready, late);
                    return;
                }
                if (onDemand)
                {
                    Count(item, hit: false);
                    next = State.Direct;
                }
                else
                {
                    lock (_gate) _roomBlocked = true; // the prefetch waits until the reader finishes an object
                }
                return;
            }
            try
            {
                await DownloadAsync(item, temp, ct).ConfigureAwait(false);
                _cache.Commit(temp, item.Key);
            }
            catch
            {
                _cache.Abandon(temp);
                throw;
            }
            Count(item, hit: false);
            var held = _cache.TryOpen(item.Key, item.Size, verify: false) ?? throw new IOException($"the shard cache's entry of '{item.Uri}' was deleted as it was written");
            Set(item, State.Ready, held);
        }
        finally
        {
            lock (_gate)
            {
                _inFlight--;
                if (item.State == State.Fetching) item.State = next;
            }
            ObjectStoreStats.CacheBytes(_cache.BytesOnDisk);
            Signal();
        }
    }

    /// <summary>The object's bytes into <paramref name="temp"/> with its checksum trailer: one ranged GET streamed through a small buffer (retried by the store's rule).</summary>
    private async Task DownloadAsync(Item item, string temp, CancellationToken ct)
    {
        using var source = await S3ReadStream.OpenAsync(item.Uri, item.Size, _store, ct).ConfigureAwait(false);
        var hash = new XxHash3();
        await using var file = new FileStream(temp, FileMode.Open, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous);
        await source.CopyRangeAsync(0, item.Size, async (piece, token) =>
        {
            hash.Append(piece.Span);
            await file.WriteAsync(piece, token).ConfigureAwait(false);
        }, ct).ConfigureAwait(false);
        await file.WriteAsync(ShardCache.Trailer(item.Size, hash.GetCurrentHashAsUInt64()), ct).ConfigureAwait(false);
    }

    private void Set(Item item, State state, FileStream held)
    {
        bool keep;
        lock (_gate)
        {
            keep = item.State == State.Fetching;
            if (keep)
            {
                item.State = state;
                item.Held = held;
            }
        }
        if (!keep) held.Dispose();
    }

    private static void Count(Item item, bool hit)
    {
        if (item.Counted) return;
        item.Counted = true;
        if (hit) ObjectStoreStats.CacheHit();
        else ObjectStoreStats.CacheMiss();
    }

    private List<string> DoneKeys()
    {
        lock (_gate) return [.. _done];
    }

    private HashSet<string> NeededKeys()
    {
        lock (_gate) return _order.Where(i => i.State is not State.Done and not State.Direct).Select(i => i.Key).ToHashSet(StringComparer.Ordinal);
    }

    private void Signal()
    {
        TaskCompletionSource old;
        lock (_gate)
        {
            old = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        old.TrySetResult();
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        try { await _prefetch.ConfigureAwait(false); }
        catch (Exception) { }
        // The prefetch has stopped, and the reader is done: no fetch starts after this.
        Task[] fetches;
        lock (_gate) fetches = _order.Select(i => i.Fetch).OfType<Task>().ToArray();
        try { await Task.WhenAll(fetches).ConfigureAwait(false); }
        catch (Exception) { } // cancelled or failed fetches: their temporary files are gone
        lock (_gate)
        {
            foreach (var i in _order)
            {
                i.Held?.Dispose();
                i.Held = null;
            }
        }
        _stop.Dispose();
    }
}

/// <summary>A read-only view of the first <c>length</c> bytes of a cache entry (its object, without the trailer).</summary>
internal sealed class EntryStream : Stream
{
    private readonly FileStream _file;

    private EntryStream(FileStream file, long length)
    {
        _file = file;
        Length = length;
    }

    public static EntryStream Open(string path, long length) =>
        new(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, FileOptions.Asynchronous), length);

    /// <summary>The file's handle, for positional reads (within <see cref="Length"/>).</summary>
    public Microsoft.Win32.SafeHandles.SafeFileHandle Handle => _file.SafeFileHandle;

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length { get; }

    public override long Position { get => _file.Position; set => _file.Position = value; }

    public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
    {
        SeekOrigin.Begin => offset,
        SeekOrigin.Current => Position + offset,
        _ => Length + offset,
    };

    public override int Read(byte[] buffer, int offset, int count) => _file.Read(buffer, offset, Clamp(count));

    public override int Read(Span<byte> buffer) => _file.Read(buffer[..Clamp(buffer.Length)]);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => _file.ReadAsync(buffer, offset, Clamp(count), ct);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) => _file.ReadAsync(buffer[..Clamp(buffer.Length)], ct);

    private int Clamp(int count) => (int)Math.Max(0, Math.Min(count, Length - _file.Position));

    public override void Flush() { }
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) _file.Dispose();
        base.Dispose(disposing);
    }
}
