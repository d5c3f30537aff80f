using Parquet;

namespace Contrastive.Ingest;

/// <summary>
/// The Parquet shards a read has open, most recently used first: a mixing group reads row groups of several shards
/// side by side, so a few stay open (footer parsed once) instead of one reopened at every change.
/// </summary>
internal sealed class ParquetFiles(ObjectStoreOptions store, int capacity = 8) : IAsyncDisposable
{
    private readonly LinkedList<(string Path, Stream Stream, IRangeReadable Ranges, ParquetReader Reader)> _open = new();
    private readonly List<ParquetReader> _retired = [];

    /// <summary>The reader of <paramref name="path"/> (opened, or the one already open) and its positional reads.</summary>
    /// <exception cref="ShardFormatException">The shard cannot be opened or is not Parquet.</exception>
    /// <param name="tail">The shard's footer bytes kept from the dataset's open (<see cref="ParquetImageShard.Tail"/>): an object is then opened without a request.</param>
    public async ValueTask<(ParquetReader Reader, IRangeReadable Ranges)> GetAsync(string path, long? size, CancellationToken ct, CacheSession? cache = null,
        byte[]? tail = null)
    {
        await RetireAsync().ConfigureAwait(false);
        for (var node = _open.First; node is not null; node = node.Next)
        {
            if (!string.Equals(node.Value.Path, path, StringComparison.Ordinal)) continue;
            if (node != _open.First)
            {
                _open.Remove(node);
                _open.AddFirst(node);
            }
            return (node.Value.Reader, node.Value.Ranges);
        }
        var (stream, ranges) = await ShardStorage.OpenAsync(path, size, store, ct, cache).ConfigureAwait(false);
        if (stream is S3ReadStream s3 && tail is not null && tail.Length <= s3.Length - Magic.Length)
        {
            s3.Overlay(0, Magic);
            s3.Overlay(s3.Length - tail.Length, tail);
        }
        ParquetReader reader;
        try
        {
            reader = await ParquetReader.CreateAsync(stream, cancellationToken: ct).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            if (e is OperationCanceledException) throw;
            throw new ShardFormatException(path, null, $"Shard '{path}' is not a readable Parquet file: {e.Message}", e);
        }
        _open.AddFirst((path, stream, ranges, reader));
        while (_open.Count > Math.Max(1, capacity))
        {
            var last = _open.Last!.Value;
            _open.RemoveLast();
            await CloseAsync(last.Stream, last.Reader).ConfigureAwait(false);
        }
        return (reader, ranges);
    }

    /// <summary>The four bytes a Parquet file starts with (its open checked them).</summary>
    private static readonly byte[] Magic = "PAR1"u8.ToArray();

    /// <summary>Closes <paramref name="path"/> if it is open (its reads are over: what it holds open is let go now).</summary>
    public void Close(string path)
    {
        for (var node = _open.First; node is not null; node = node.Next)
        {
            if (!string.Equals(node.Value.Path, path, StringComparison.Ordinal)) continue;
            _open.Remove(node);
            node.Value.Stream.Dispose(); // the file goes now; the reader (async disposal only) at the next open or the end
            _retired.Add(node.Value.Reader);
            return;
        }
    }

    private static async ValueTask CloseAsync(Stream stream, ParquetReader reader)
    {
        await reader.DisposeAsync().ConfigureAwait(false);
        await stream.DisposeAsync().ConfigureAwait(false);
    }

    private async ValueTask RetireAsync()
    {
        foreach (var reader in _retired) await reader.DisposeAsync().ConfigureAwait(false);
        _retired.Clear();
    }

    public async ValueTask DisposeAsync()
    {
        await RetireAsync().ConfigureAwait(false);
        while (_open.First is { } node)
        {
            _open.RemoveFirst();
            await CloseAsync(node.Value.Stream, node.Value.Reader).ConfigureAwait(false);
        }
    }
}
