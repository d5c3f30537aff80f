namespace Contrastive.Ingest;

/// <summary>Positional reads of one shard: a local file, or an object through ranged GETs.</summary>
internal interface IRangeReadable
{
    /// <summary>Fills <paramref name="buffer"/> from <paramref name="offset"/>; fails if the shard ends first.</summary>
    ValueTask ReadExactlyAsync(Memory<byte> buffer, long offset, CancellationToken ct);

    /// <summary>
    /// A hint: the shard's stream is about to read [<paramref name="offset"/>, +<paramref name="length"/>) in small reads.
    /// Object storage fetches it now in one request; a local file has nothing to do.
    /// </summary>
    ValueTask PrefetchAsync(long offset, long length, CancellationToken ct) => ValueTask.CompletedTask;
}

/// <summary>Positional reads of a local file through its handle (pread: no shared position, no locking).</summary>
internal sealed class LocalRangeReader(Microsoft.Win32.SafeHandles.SafeFileHandle handle, string path) : IRangeReadable
{
    public async ValueTask ReadExactlyAsync(Memory<byte> buffer, long offset, CancellationToken ct)
    {
        while (!buffer.IsEmpty)
        {
            int n = await RandomAccess.ReadAsync(handle, buffer, offset, ct).ConfigureAwait(false);
            if (n <= 0) throw new EndOfStreamException($"'{path}' ends at offset {offset}, inside a column chunk");
            buffer = buffer[n..];
            offset += n;
        }
    }
}
