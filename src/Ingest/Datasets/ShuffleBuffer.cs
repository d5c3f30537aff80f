using System.Globalization;
using System.Runtime.CompilerServices;

namespace Contrastive.Ingest;

/// <summary>What one read unit puts into the shuffle buffer at a time: samples (before the split) and bytes.</summary>
internal readonly record struct UnitSize(long Samples, long Bytes);

/// <summary>A shard dataset's read units as the shuffle buffer sees them.</summary>
internal interface IShardUnits
{
    /// <summary>What a read unit is, e.g. "row groups" or "tar shards".</summary>
    string UnitName { get; }

    /// <summary>Whether <see cref="UnitSizes"/> are estimates (tar: samples per shard are not known before reading).</summary>
    bool SizesEstimated { get; }

    /// <summary>Each read unit's size in the buffer under <paramref name="plan"/>, in stored order.</summary>
    IReadOnlyList<UnitSize> UnitSizes(ReadPlan plan);
}

/// <summary>
/// How a resumed read unit skips the pieces before the cursor without reading them (tar shards with a sidecar index):
/// <see cref="Pieces"/> gives each piece's global sample indices (null: unknown, the unit is read from its start), and
/// <see cref="ReadFrom"/> reads the unit from a piece on (unit, position, first piece).
/// </summary>
internal sealed record PieceSeek<T>(Func<T, CancellationToken, Task<IReadOnlyList<long[]>?>> Pieces,
    Func<T, int, int, CancellationToken, IAsyncEnumerable<SampleChunk>> ReadFrom);

/// <summary>
/// The shuffle buffer of shard datasets. An epoch's read units (row groups, tar shards) are permuted, dealt to ranks,
/// and this rank's units are grouped in that order into mixing groups whose summed sizes stay within the plan's bounds
/// (decided from metadata alone, so the same for every run). A group's units are read side by side in rounds (a row
/// group is one piece; a tar shard streams in pieces of up to its chunk size); each round's samples are yielded in a
/// seeded permutation as chunks of about a piece each. A chunk's cursor unit is the epoch position of its group's first
/// unit and its offset the number of the group's samples before it, so resuming re-reads the group and skips that many.
/// Chunks share the pieces' pooled buffers: each piece's buffers return when the last chunk holding one of its samples
/// is disposed (no copy of the image bytes).
/// </summary>
public static class ShuffleBuffer
{
    private const ulong MixSalt = 0x6D69782D67726F75UL; // "mix-grou"

    /// <summary>The buffer <paramref name="plan"/> gives on <paramref name="dataset"/>: mixing groups and their sizes, and a line to log.</summary>
    public static ShuffleLayout Describe(IImageDataset dataset, ReadPlan plan)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        string bound = $"bound {plan.ShuffleBufferSamples.ToString("N0", CultureInfo.InvariantCulture)} samples / {Mb(plan.ShuffleBufferBytes)}";
        if (dataset is WeightedDataset mix)
        {
            // Each source has its own buffer; the mix interleaves them by weight.
            var layouts = mix.Sources.Select((d, s) => Describe(d, WeightedDataset.SourcePlan(plan, s))).ToList();
            string each = string.Join("; ", layouts.Select((l, s) => $"source {s} ({mix.Weights[s].ToString("P0", CultureInfo.InvariantCulture)}): {l.Text}"));
            return new ShuffleLayout($"weighted sources, interleaved by weight in every batch: {each}", layouts.Sum(l => l.Units), layouts.Sum(l => l.Groups),
                layouts.Max(l => l.MaxSamples), layouts.Max(l => l.MaxBytes), layouts.Max(l => l.MaxUnits));
        }
        if (!plan.Shuffle) return new ShuffleLayout("no shuffle: stored order", 0, 0, 0, 0, 0);
        if (dataset is not IShardUnits shards)
            return new ShuffleLayout($"shuffle: a permutation of all {dataset.SampleCount.ToString("N0", CultureInfo.InvariantCulture)} samples (no buffer needed)", 0, 0, 0, 0, 0);
        var sizes = shards.UnitSizes(plan);
        var mine = Mine(Enumerable.Range(0, sizes.Count).ToList(), plan);
        if (!plan.Mixes)
            return new ShuffleLayout($"shuffle buffer off: one of {mine.Count} {shards.UnitName} at a time, samples permuted inside each ({bound})", mine.Count, 0, 0, 0, 1);
        var groups = Groups(mine.Select(m => sizes[m.Unit]).ToList(), plan);
        long maxSamples = groups.Count == 0 ? 0 : groups.Max(g => g.Samples), maxBytes = groups.Count == 0 ? 0 : groups.Max(g => g.Bytes);
        int maxUnits = groups.Count == 0 ? 0 : groups.Max(g => g.Count);
        string estimated = shards.SizesEstimated ? " (samples estimated)" : "";
        string text = $"shuffle buffer: up to {maxSamples.ToString("N0", CultureInfo.InvariantCulture)} samples{estimated} / {Mb(maxBytes)} across up to {maxUnits} {shards.UnitName} " +
            $"({groups.Count} group(s) of {mine.Count} {shards.UnitName} on this rank; {bound})";
        return new ShuffleLayout(text, mine.Count, groups.Count, maxSamples, maxBytes, maxUnits);
    }

    /// <summary>Whether <paramref name="dataset"/>'s epochs can be dealt anew over another number of processes (<see cref="ReadPlan.Reshard"/>): shard datasets.</summary>
    public static bool CanReshard(IImageDataset dataset) => dataset is IShardUnits;

    private static string Mb(long bytes) => bytes >= 1 << 20 ? $"{(bytes / 1048576.0).ToString("N0", CultureInfo.InvariantCulture)} MiB"
        : $"{(bytes / 1024.0).ToString("N1", CultureInfo.InvariantCulture)} KiB";

    /// <summary>A mixing group: <see cref="Count"/> consecutive entries of this rank's units from <see cref="Start"/>, with their summed sizes.</summary>
    internal readonly record struct Group(int Start, int Count, long Samples, long Bytes);

    /// <summary>This rank's units in the epoch's order with their positions (over all ranks); <paramref name="units"/> is permuted in place when shuffling.</summary>
    internal static List<(int Position, T Unit)> Mine<T>(List<T> units, ReadPlan plan)
    {
        if (plan.Shuffle) SampleOrder.Permute(units, SampleOrder.Rng(plan.Seed, plan.Epoch, -1));
        var mine = new List<(int, T)>();
        for (int p = 0; p < units.Count; p++)
            if (plan.IsMine(p)) mine.Add((p, units[p]));
        return mine;
    }

    /// <summary>
    /// Consecutive runs of <paramref name="sizes"/> (this rank's units in epoch order) whose summed samples and bytes stay
    /// within the plan's bounds; a unit larger than a bound on its own is a group of one. A pure function of the sizes.
    /// </summary>
    internal static List<Group> Groups(IReadOnlyList<UnitSize> sizes, ReadPlan plan)
    {
        var groups = new List<Group>();
        int start = 0;
        long samples = 0, bytes = 0;
        for (int i = 0; i < sizes.Count; i++)
        {
            var z = sizes[i];
            if (i > start && (samples + z.Samples > plan.ShuffleBufferSamples || bytes + z.Bytes > plan.ShuffleBufferBytes))
            {
                groups.Add(new Group(start, i - start, samples, bytes));
                start = i;
                samples = bytes = 0;
            }
            samples += z.Samples;
            bytes += z.Bytes;
        }
        if (sizes.Count > start) groups.Add(new Group(start, sizes.Count - start, samples, bytes));
        return groups;
    }

    /// <summary>
    /// Reads <paramref name="units"/> (in stored order; permuted in place when shuffling) as the plan says: through the
    /// buffer when it <see cref="ReadPlan.Mixes"/>, else one unit after the other with the samples of each piece permuted.
    /// <paramref name="read"/> gives a unit's pieces in stored order (all samples, no split), <paramref name="size"/> what
    /// a unit holds in the buffer at a time; <paramref name="source"/> names chunks that mix several shards.
    /// <paramref name="ahead"/>, when given, is told before the first read every unit this pass will read, in the order
    /// it will start them (what a cache prefetches). <paramref name="seek"/>, when given, lets a resumed unit or group start
    /// at the piece (round) the cursor is in instead of reading the pieces before it.
    /// </summary>
    internal static async IAsyncEnumerable<SampleChunk> ReadAsync<T>(List<T> units, Func<T, UnitSize> size,
        Func<T, int, CancellationToken, IAsyncEnumerable<SampleChunk>> read, ReadPlan plan, string source,
        Action<IReadOnlyList<T>>? ahead = null, [EnumeratorCancellation] CancellationToken ct = default, PieceSeek<T>? seek = null)
    {
        if (plan.Resharded)
        {
            // A resume on another number of processes: what the old ranks left of this epoch, dealt over the new ones.
            var items = ReshardItems(units, size, plan);
            ahead?.Invoke(items.SelectMany(i => i.Units.Select(u => u.Unit)).ToList());
            foreach (var (first, group, itemPlan) in items)
            {
                ct.ThrowIfCancellationRequested();
                var chunks = itemPlan.Mixes
                    ? MixAsync(group, first, itemPlan.SkipCount(int.MaxValue, first, 0), read, itemPlan, source, seek, ct)
                    : UnitAsync(group[0].Unit, first, read, itemPlan, seek, ct);
                await foreach (var chunk in chunks.ConfigureAwait(false)) yield return chunk;
            }
            yield break;
        }

        if (!plan.Mixes)
        {
            var order = SampleOrder.Units(units, plan).ToList();
            ahead?.Invoke(order.Select(u => u.Unit).ToList());
            foreach (var (position, unit) in order)
            {
                ct.ThrowIfCancellationRequested();
                await foreach (var chunk in UnitAsync(unit, position, read, plan, seek, ct).ConfigureAwait(false)) yield return chunk;
            }
            yield break;
        }

        var mine = Mine(units, plan);
        var groups = Groups(mine.Select(m => size(m.Unit)).ToList(), plan).Where(g => !plan.Skips(mine[g.Start].Position)).ToList();
        ahead?.Invoke(groups.SelectMany(g => mine.GetRange(g.Start, g.Count).Select(m => m.Unit)).ToList());
        foreach (var g in groups)
        {
            int first = mine[g.Start].Position;
            ct.ThrowIfCancellationRequested();
            int skip = plan.SkipCount(int.MaxValue, first, 0);
            await foreach (var chunk in MixAsync(mine.GetRange(g.Start, g.Count), first, skip, read, plan, source, seek, ct).ConfigureAwait(false))
                yield return chunk;
        }
    }

    /// <summary>
    /// One read unit without the buffer: its pieces in order, the samples of each permuted, less those before the plan's
    /// cursor. With <paramref name="seek"/>, a resumed unit starts at the piece the cursor is in.
    /// </summary>
    private static async IAsyncEnumerable<SampleChunk> UnitAsync<T>(T unit, int position, Func<T, int, CancellationToken, IAsyncEnumerable<SampleChunk>> read,
        ReadPlan plan, PieceSeek<T>? seek, [EnumeratorCancellation] CancellationToken ct)
    {
        int offset = 0;
        var pieces = read(unit, position, ct);
        int skip = plan.SkipCount(int.MaxValue, position, 0);
        // A unit alone is a group of one: its "rounds" are its pieces.
        if (skip > 0 && seek is not null && await FirstRoundAsync([(position, unit)], skip, plan, seek, ct).ConfigureAwait(false) is { } at)
        {
            if (at.Round == at.Pieces[0]) yield break; // the cursor is past the unit's last sample
            if (at.Round > 0) (pieces, offset) = (seek.ReadFrom(unit, position, at.Round, ct), at.Before);
        }
        await foreach (var piece in pieces.ConfigureAwait(false))
        {
            var selected = SampleOrder.Select(piece.At(position, offset), plan);
            offset += selected.Count;
            // A unit streamed in pieces (a tar shard): resuming inside it reads (but does not yield) the pieces before the cursor.
            if (plan.Trim(selected, position, selected.Offset) is { } chunk) yield return chunk;
        }
    }

    /// <summary>
    /// A resharded epoch (<see cref="ReadPlan.Reshard"/>): each old rank's mixing groups (or units, without the buffer) from
    /// its cursor on, as that rank would have read them (the group at its cursor less the samples before it), all of them
    /// in the order of their first positions, every WorldSize-th from this rank's; less what this rank's own cursor says
    /// it has read of them (a second resume with as many processes). Each with the plan to read it under.
    /// </summary>
    internal static List<(int First, List<(int Position, T Unit)> Units, ReadPlan Plan)> ReshardItems<T>(List<T> units, Func<T, UnitSize> size, ReadPlan plan)
    {
        var reshard = plan.Reshard!;
        var all = new List<(int First, List<(int Position, T Unit)> Units, ReadPlan Plan)>();
        for (int r = 0; r < reshard.WorldSize; r++)
        {
            var cursor = reshard.CursorIn(r, plan.Epoch, out bool done);
            if (done) continue;
            var old = plan with { Rank = r, WorldSize = reshard.WorldSize, From = cursor, Reshard = null };
            if (old.Mixes)
            {
                var mine = Mine(new List<T>(units), old);
                foreach (var g in Groups(mine.Select(m => size(m.Unit)).ToList(), old))
                    if (!old.Skips(mine[g.Start].Position)) all.Add((mine[g.Start].Position, mine.GetRange(g.Start, g.Count), old));
            }
            else
            {
                foreach (var (position, unit) in SampleOrder.Units(new List<T>(units), old)) all.Add((position, [(position, unit)], old));
            }
        }
        all.Sort((a, b) => a.First.CompareTo(b.First));
        var share = new List<(int, List<(int, T)>, ReadPlan)>();
        for (int i = plan.Rank; i < all.Count; i += plan.WorldSize)
        {
            var (first, group, old) = all[i];
            if (plan.Skips(first)) continue;
            // This rank's own cursor in the item continues after the old rank's (it counts from the same start).
            share.Add((first, group, plan.From is { } f && f.Epoch == plan.Epoch && f.Unit == first ? old with { From = f } : old));
        }
        return share;
    }

    /// <summary>
    /// One mixing group: its units read side by side, round by round, each round's samples yielded in a seeded permutation.
    /// With <paramref name="seek"/> and an index for every unit, a resumed group starts at the round the cursor is in: the
    /// rounds before it are counted from the indexes, not read.
    /// </summary>
    private static async IAsyncEnumerable<SampleChunk> MixAsync<T>(List<(int Position, T Unit)> group, int first, int skip,
        Func<T, int, CancellationToken, IAsyncEnumerable<SampleChunk>> read, ReadPlan plan, string source, PieceSeek<T>? seek,
        [EnumeratorCancellation] CancellationToken ct)
    {
        var readers = new IAsyncEnumerator<SampleChunk>?[group.Count];
        var ready = new Queue<SampleChunk>();
        int before = 0; // the group's samples in earlier rounds
        var at = skip > 0 && seek is not null ? await FirstRoundAsync(group, skip, plan, seek, ct).ConfigureAwait(false) : null;
        int start = at?.Round ?? 0;
        try
        {
            for (int i = 0; i < group.Count; i++)
                readers[i] = start == 0 ? read(group[i].Unit, group[i].Position, ct).GetAsyncEnumerator(ct)
                    : at!.Pieces[i] > start ? seek!.ReadFrom(group[i].Unit, group[i].Position, start, ct).GetAsyncEnumerator(ct) : null;
            before = at?.Before ?? 0;
            for (int round = start; ; round++)
            {
                var pieces = new List<SampleChunk>(group.Count);
                try
                {
                    for (int i = 0; i < readers.Length; i++)
                    {
                        if (readers[i] is not { } r) continue;
                        if (await r.MoveNextAsync().ConfigureAwait(false)) pieces.Add(r.Current);
                        else
                        {
                            readers[i] = null;
                            await r.DisposeAsync().ConfigureAwait(false);
                        }
                    }
                }
                catch
                {
                    foreach (var p in pieces) p.Dispose();
                    throw;
                }
                if (pieces.Count == 0) break;
                int kept = Round(pieces, first, round, before, skip, plan, source, ready);
                before += kept;
                while (ready.TryDequeue(out var chunk)) yield return chunk;
            }
        }
        finally
        {
            while (ready.TryDequeue(out var chunk)) chunk.Dispose();
            foreach (var r in readers)
                if (r is not null) await r.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Samples of a piece (its global indices) that the plan's split keeps.</summary>
    private static int Kept(long[] indices, ReadPlan plan)
    {
        int kept = 0;
        foreach (long i in indices)
            if (plan.Split.IsHeldOut(i) == plan.HeldOut) kept++;
        return kept;
    }

    /// <summary>Where a resumed group starts: its first round with samples at or after the cursor, the samples the rounds before it keep, and each unit's piece count.</summary>
    private sealed record FirstRound(int Round, int Before, int[] Pieces);

    /// <summary>
    /// The first round of a resumed group that holds samples at or after the cursor (<paramref name="skip"/> samples into the
    /// group), counted from the units' piece indexes; null when a unit has no index (the group is read from its start).
    /// </summary>
    private static async Task<FirstRound?> FirstRoundAsync<T>(List<(int Position, T Unit)> group, int skip, ReadPlan plan, PieceSeek<T> seek, CancellationToken ct)
    {
        var indexes = new List<IReadOnlyList<long[]>>(group.Count);
        foreach (var (_, unit) in group)
        {
            if (await seek.Pieces(unit, ct).ConfigureAwait(false) is not { } pieces) return null;
            indexes.Add(pieces);
        }
        int before = 0, round = 0;
        for (; ; round++)
        {
            int kept = 0;
            bool any = false;
            foreach (var pieces in indexes)
                if (pieces.Count > round)
                {
                    any = true;
                    kept += Kept(pieces[round], plan);
                }
            if (!any || before + kept > skip) break;
            before += kept;
        }
        return new FirstRound(round, before, [.. indexes.Select(p => p.Count)]);
    }

    /// <summary>
    /// Permutes one round's kept samples (after the split) and adds them to <paramref name="output"/> as chunks of about
    /// one piece each, leaving out those before the cursor; returns how many samples the round keeps. The pieces' buffers
    /// pass to the chunks (shared; a piece none of whose samples is kept returns them at once).
    /// </summary>
    private static int Round(List<SampleChunk> pieces, int first, int round, int before, int skip, ReadPlan plan, string source, Queue<SampleChunk> output)
    {
        var refs = new List<(int Piece, int Index)>();
        for (int p = 0; p < pieces.Count; p++)
        {
            var indices = pieces[p].Indices;
            for (int i = 0; i < indices.Length; i++)
                if (plan.Split.IsHeldOut(indices[i]) == plan.HeldOut) refs.Add((p, i));
        }
        SampleOrder.Permute(refs, SampleOrder.Rng(plan.Seed, plan.Epoch, (long)StableHash.Combine(MixSalt, (ulong)first, (ulong)round)));
        int kept = refs.Count, from = Math.Clamp(skip - before, 0, kept);
        bool keys = pieces.Any(p => p.Keys is not null), problems = pieces.Any(p => p.Problems is not null), captions = pieces.Any(p => p.Captions is not null);
        var shared = new SharedOwners(pieces.Select(p => p.TakeOwner()).ToArray());
        try
        {
            int k = pieces.Count;
            for (int j = 0; j < k; j++)
            {
                int start = Math.Max(from, (int)((long)kept * j / k)), end = (int)((long)kept * (j + 1) / k);
                if (start >= end) continue;
                int n = end - start;
                var images = new ReadOnlyMemory<byte>[n];
                var labels = new long[n];
                var indices = new long[n];
                var keyArray = keys ? new string?[n] : null;
                var problemArray = problems ? new string?[n] : null;
                var captionArray = captions ? new ReadOnlyMemory<byte>[n] : null;
                var shards = new string[n];
                var parts = new int[n];
                var used = new bool[k];
                bool oneShard = true;
                for (int t = 0; t < n; t++)
                {
                    var (p, i) = refs[start + t];
                    var piece = pieces[p];
                    used[p] = true;
                    images[t] = piece.Images[i];
                    labels[t] = piece.Labels[i];
                    indices[t] = piece.Indices[i];
                    if (keyArray is not null) keyArray[t] = piece.Keys?[i];
                    if (problemArray is not null) problemArray[t] = piece.Problems?[i];
                    if (captionArray is not null && piece.Captions is { } pieceCaptions) captionArray[t] = pieceCaptions[i];
                    shards[t] = piece.Shard;
                    parts[t] = piece.Part;
                    oneShard &= string.Equals(shards[t], shards[0], StringComparison.Ordinal);
                }
                output.Enqueue(new SampleChunk(oneShard ? shards[0] : source, parts[0], plan.Epoch, images, labels, indices, keyArray, shared.Lease(used))
                    { Unit = first, Offset = before + start, Problems = problemArray, Captions = captionArray, Shards = shards, Parts = parts });
            }
        }
        catch
        {
            while (output.TryDequeue(out var chunk)) chunk.Dispose();
            throw;
        }
        finally
        {
            shared.ReleaseBuilder();
            foreach (var p in pieces) p.Dispose(); // their owners were taken: this only drops the objects
        }
        return kept;
    }
}

/// <summary>
/// Owners of pooled buffers (one per piece read) shared by the chunks made from them: each owner is disposed when the
/// builder and every chunk lease that uses it have let go of it.
/// </summary>
internal sealed class SharedOwners
{
    private readonly IDisposable?[] _owners;
    private readonly int[] _refs;

    public SharedOwners(IDisposable?[] owners)
    {
        _owners = owners;
        _refs = new int[owners.Length];
        Array.Fill(_refs, 1); // the builder's reference
    }

    /// <summary>A reference to the owners flagged in <paramref name="used"/>, let go when the lease is disposed.</summary>
    public IDisposable Lease(bool[] used)
    {
        var list = new List<int>();
        for (int i = 0; i < used.Length; i++)
            if (used[i])
            {
                Interlocked.Increment(ref _refs[i]);
                list.Add(i);
            }
        return new Handle(this, [.. list]);
    }

    /// <summary>Drops the builder's references (owners no lease uses are disposed now).</summary>
    public void ReleaseBuilder()
    {
        for (int i = 0; i < _owners.Length; i++) Release(i);
    }

    private void Release(int i)
    {
        if (Interlocked.Decrement(ref _refs[i]) == 0) Interlocked.Exchange(ref _owners[i], null)?.Dispose();
    }

    private sealed class Handle(SharedOwners owners, int[] used) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            foreach (int i in used) owners.Release(i);
        }
    }
}
