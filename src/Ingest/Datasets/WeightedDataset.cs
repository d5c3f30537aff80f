using System.Globalization;
using System.Runtime.CompilerServices;

namespace Contrastive.Ingest;

/// <summary>
/// Several datasets read as one training stream, mixed by weight (<c>train --data a/:0.7 --data s3://b/:0.3</c>).
/// Each source is read in its own epochs under its own seed (its own shuffle, shuffle buffer and split), so a small
/// source is read again while a large one is still in its first epoch. The mix takes its next sample from the source
/// furthest behind its share: source <c>s</c> with the largest (k + 1)·w<sub>s</sub> − n<sub>s</sub>, where k samples were
/// taken so far, n<sub>s</sub> of them from <c>s</c> (ties: the first listed; counted from the last change of weights, a
/// resume under new weights). Every stretch of the stream then holds
/// each source's share to within one sample per source (every batch is mixed by weight), and the choice is a pure
/// function of the counts: a cursor of the counts and each source's own cursor (<see cref="MixCursor"/>) resumes the
/// mixed stream exactly. The mix's epoch is the lowest of its sources' epochs.
/// Sample indices keep their source in the top bits (<see cref="IndexOf"/>), so two sources' samples never share an
/// index (nor a random seed). Read for one epoch (<see cref="ReadAsync"/>: evaluation, probes, inspection), the sources
/// come one after the other, each under the plan as given.
/// </summary>
public sealed class WeightedDataset : IImageDataset
{
    /// <summary>Bits of a mixed sample index that hold the sample's index in its own source.</summary>
    public const int SourceShift = 48;

    private const ulong SourceSalt = 0x736F757263652D73UL; // "source-s"
    private const int ChunkSamples = 128;

    /// <param name="sources">The datasets with their weights (any positive numbers: they are normalised to sum 1).</param>
    /// <exception cref="ArgumentException">No source, or a weight that is not a positive finite number.</exception>
    public WeightedDataset(IReadOnlyList<(IImageDataset Dataset, double Weight)> sources)
    {
        ArgumentNullException.ThrowIfNull(sources);
        if (sources.Count == 0) throw new ArgumentException("A weighted mix needs at least one source.", nameof(sources));
        if (sources.Count >= 1 << (63 - SourceShift)) throw new ArgumentException($"A weighted mix takes fewer than {1 << (63 - SourceShift)} sources.", nameof(sources));
        for (int s = 0; s < sources.Count; s++)
            if (!double.IsFinite(sources[s].Weight) || sources[s].Weight <= 0)
                throw new ArgumentException($"Source {s} ('{sources[s].Dataset.Uri}') has weight {sources[s].Weight.ToString(CultureInfo.InvariantCulture)}: a weight is a positive number.", nameof(sources));
        double sum = sources.Sum(x => x.Weight);
        Sources = sources.Select(x => x.Dataset).ToArray();
        Weights = sources.Select(x => x.Weight / sum).ToArray();
    }

    /// <summary>The sources in the order given.</summary>
    public IReadOnlyList<IImageDataset> Sources { get; }

    /// <summary>Each source's share of the stream (summing to 1).</summary>
    public IReadOnlyList<double> Weights { get; }

    public string Uri => string.Join(" + ", Sources.Select((d, s) => $"{d.Uri} ×{Weights[s].ToString("0.###", CultureInfo.InvariantCulture)}"));

    public string Format => Sources.Select(d => d.Format).Distinct().Count() == 1 ? Sources[0].Format : string.Join("+", Sources.Select(d => d.Format).Distinct());

    public int ShardCount => Sources.Sum(d => d.ShardCount);

    public long SampleCount => Sources.All(d => d.SampleCount >= 0) ? Sources.Sum(d => d.SampleCount) : -1;

    public bool HasLabels => Sources.All(d => d.HasLabels);

    public bool HasCaptions => Sources.All(d => d.HasCaptions);

    public IReadOnlyDictionary<string, string> Columns => Sources[0].Columns;

    /// <summary>The class names, when every source names the same classes in the same order.</summary>
    public IReadOnlyList<string>? ClassNames =>
        Sources.All(d => d.ClassNames is { } names && Sources[0].ClassNames is { } first && names.SequenceEqual(first)) ? Sources[0].ClassNames : null;

    /// <summary>A sample's index in the mix: its source in the top bits, its index in that source below <see cref="SourceShift"/>.</summary>
    public static long IndexOf(int source, long index) => ((long)source << SourceShift) | index;

    /// <summary>The source and the index in it of a mixed sample index (<see cref="IndexOf"/>).</summary>
    public static (int Source, long Index) SourceOf(long mixed) => ((int)(mixed >> SourceShift), mixed & ((1L << SourceShift) - 1));

    /// <summary>The plan source <paramref name="source"/> is read under when the mix reads under <paramref name="plan"/>: its own seed.</summary>
    public static ReadPlan SourcePlan(ReadPlan plan, int source) => plan with { Seed = (long)StableHash.Combine((ulong)plan.Seed, (ulong)source, SourceSalt) };

    /// <summary>
    /// One epoch of every source, one source after the other (not mixed: for evaluation and inspection), each under the plan
    /// as given, with the indices of the mix (<see cref="IndexOf"/>).
    /// </summary>
    /// <exception cref="NotSupportedException">The plan resumes from a cursor or is resharded: a mix resumes through <see cref="ReadMixedAsync"/>.</exception>
    public async IAsyncEnumerable<SampleChunk> ReadAsync(ReadPlan plan, [EnumeratorCancellation] CancellationToken ct = default)
    {
        if (plan.From is not null || plan.Resharded)
            throw new NotSupportedException("Weighted sources are resumed as a mix (ReadMixedAsync), not one epoch at a time.");
        for (int s = 0; s < Sources.Count; s++)
            await foreach (var chunk in Sources[s].ReadAsync(plan, ct).ConfigureAwait(false))
            {
                if (s > 0)
                    for (int i = 0; i < chunk.Count; i++) chunk.Indices[i] = IndexOf(s, chunk.Indices[i]);
                yield return chunk;
            }
    }

    /// <summary>
    /// The mixed stream, without end: each source read epoch after epoch under <paramref name="planFor"/>'s plan for its
    /// epoch (with its own seed, <see cref="SourcePlan"/>), its samples taken by weight. With <paramref name="from"/> (a
    /// cursor of this mix), reading goes on exactly where it was taken. <paramref name="epochStarted"/> is told each epoch
    /// of the mix as its first sample is taken. Chunks hold up to 128 samples; their buffers are the sources' (shared, no
    /// copy).
    /// </summary>
    /// <exception cref="InvalidDataException"><paramref name="from"/> is not a cursor of a mix of as many sources.</exception>
    public async IAsyncEnumerable<SampleChunk> ReadMixedAsync(Func<int, ReadPlan> planFor, ReadCursor? from = null, Action<int>? epochStarted = null,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(planFor);
        int n = Sources.Count;
        var start = from?.Mix;
        if (from is { } f && start is null)
            throw new InvalidDataException($"The position to resume from ({f}) is in one data source; this run mixes {n} weighted sources. Resume with the data the run was started with, or start a new run.");
        if (start is not null && start.Sources.Count != n)
            throw new InvalidDataException($"The position to resume from is in a mix of {start.Sources.Count} source(s); this run mixes {n}. Resume with the sources the run was started with, or start a new run.");
        var picks = start?.Picks.ToArray() ?? new long[n];
        var next = start?.Sources.ToArray() ?? Enumerable.Repeat(new ReadCursor(0, 0, 0), n).ToArray();
        var weights = Weights.ToArray();
        // The shares are counted from the last change of weights: a resume under new weights starts counting at its cursor.
        bool changed = start is not null && !start.SameWeights(weights);
        var since = changed ? start!.Picks.ToArray() : start?.Since?.ToArray();
        var streams = new SourceStream[n];
        var building = new List<IDisposable>(); // leases of the chunk being built, returned if reading stops half-way
        int epoch = -1;
        try
        {
            for (int s = 0; s < n; s++)
            {
                int source = s;
                streams[s] = new SourceStream(Sources[s].ReadEpochsAsync(e => SourcePlan(planFor(e), source), from: start?.Sources[s], ct: ct).GetAsyncEnumerator(ct));
            }
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                int mixEpoch = next.Min(c => c.Epoch);
                if (mixEpoch > epoch)
                {
                    epoch = mixEpoch;
                    epochStarted?.Invoke(epoch);
                }
                var startPicks = picks.ToArray();
                var startNext = next.ToArray();
                var images = new ReadOnlyMemory<byte>[ChunkSamples];
                var labels = new long[ChunkSamples];
                var indices = new long[ChunkSamples];
                var keys = new string?[ChunkSamples];
                var problems = new string?[ChunkSamples];
                var captions = new ReadOnlyMemory<byte>[ChunkSamples];
                var shards = new string[ChunkSamples];
                var parts = new int[ChunkSamples];
                var epochs = new int[ChunkSamples];
                var sourceOf = new int[ChunkSamples];
                var own = new ReadCursor[ChunkSamples];
                bool anyKeys = false, anyProblems = false, anyCaptions = false;
                for (int t = 0; t < ChunkSamples; t++)
                {
                    int s = Choose(picks, weights, since);
                    var stream = streams[s];
                    var chunk = await stream.CurrentAsync().ConfigureAwait(false);
                    if (!stream.Leased)
                    {
                        building.Add(stream.Owner!.Lease([true]));
                        stream.Leased = true;
                    }
                    int i = stream.Position++;
                    images[t] = chunk.Images[i];
                    labels[t] = chunk.Labels[i];
                    indices[t] = IndexOf(s, chunk.Indices[i]);
                    if (chunk.Keys?[i] is { } key) { keys[t] = key; anyKeys = true; }
                    if (chunk.Problems?[i] is { } problem) { problems[t] = problem; anyProblems = true; }
                    if (chunk.Captions is { } c) { captions[t] = c[i]; anyCaptions = true; }
                    shards[t] = chunk.ShardOf(i);
                    parts[t] = chunk.PartOf(i);
                    epochs[t] = chunk.EpochOf(i);
                    sourceOf[t] = s;
                    own[t] = chunk.CursorAt(i);
                    next[s] = own[t] with { Offset = own[t].Offset + 1 };
                    picks[s]++;
                    if (stream.Position == chunk.Count) stream.Finish();
                }
                foreach (var stream in streams) stream.Leased = false;
                var mix = new MixPositions(startPicks, startNext, weights, since, sourceOf, own);
                var leases = new Leases([.. building]);
                building.Clear(); // the chunk holds them now
                yield return new SampleChunk(Uri, parts[0], mixEpoch, images, labels, indices, anyKeys ? keys : null, leases)
                {
                    Shards = shards, Parts = parts, Epochs = epochs, Mix = mix,
                    Problems = anyProblems ? problems : null, Captions = anyCaptions ? captions : null,
                };
            }
        }
        finally
        {
            foreach (var lease in building) lease.Dispose();
            foreach (var stream in streams)
                if (stream is not null) await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The source the mix takes its next sample from: the one furthest behind its share (ties: the first), counting the
    /// picks made since <paramref name="since"/> (null: all).
    /// </summary>
    internal static int Choose(long[] picks, double[] weights, long[]? since = null)
    {
        long k = 0;
        for (int s = 0; s < picks.Length; s++) k += picks[s] - (since?[s] ?? 0);
        int best = 0;
        double most = double.NegativeInfinity;
        for (int s = 0; s < picks.Length; s++)
        {
            double behind = (k + 1) * weights[s] - (picks[s] - (since?[s] ?? 0));
            if (behind > most) (best, most) = (s, behind);
        }
        return best;
    }

    /// <summary>One source's endless stream, the chunk the mix is taking samples from, and that chunk's shared buffers.</summary>
    private sealed class SourceStream(IAsyncEnumerator<SampleChunk> chunks) : IAsyncDisposable
    {
        private SampleChunk? _current;

        /// <summary>The current chunk's buffers, shared by the mix's chunks that take samples from it.</summary>
        public SharedOwners? Owner { get; private set; }

        /// <summary>The next sample of the current chunk to take.</summary>
        public int Position { get; set; }

        /// <summary>Whether the chunk being built already holds a lease on <see cref="Owner"/>.</summary>
        public bool Leased { get; set; }

        /// <summary>The chunk the next sample comes from (the next one with samples, read when the last is used up).</summary>
        public async ValueTask<SampleChunk> CurrentAsync()
        {
            while (_current is null)
            {
                if (!await chunks.MoveNextAsync().ConfigureAwait(false))
                    throw new InvalidOperationException("A source of the weighted mix ended; its epochs go on without end.");
                var chunk = chunks.Current;
                if (chunk.Count == 0) { chunk.Dispose(); continue; }
                _current = chunk;
                Owner = new SharedOwners([chunk.TakeOwner()]);
                Position = 0;
                Leased = false;
            }
            return _current;
        }

        /// <summary>The current chunk is used up: the mix's hold on its buffers ends (the chunks made from it keep theirs).</summary>
        public void Finish()
        {
            Owner?.ReleaseBuilder();
            Owner = null;
            _current = null;
            Leased = false;
        }

        public async ValueTask DisposeAsync()
        {
            Finish();
            await chunks.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The leases a mixed chunk holds on its sources' buffers.</summary>
    private sealed class Leases(IDisposable[] leases) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            foreach (var lease in leases) lease.Dispose();
        }
    }
}

/// <summary>
/// Where the samples of a chunk of a weighted mix stand (<see cref="WeightedDataset"/>): the mix's position before its
/// first sample, each sample's source, and each sample's cursor in its source. The cursor before any sample follows.
/// </summary>
public sealed class MixPositions
{
    private readonly long[] _startPicks;
    private readonly ReadCursor[] _startNext;
    private readonly double[] _weights;
    private readonly long[]? _since;
    private readonly int[] _sourceOf;
    private readonly ReadCursor[] _own;

    internal MixPositions(long[] startPicks, ReadCursor[] startNext, double[] weights, long[]? since, int[] sourceOf, ReadCursor[] own)
    {
        (_startPicks, _startNext, _weights, _since, _sourceOf, _own) = (startPicks, startNext, weights, since, sourceOf, own);
    }

    /// <summary>The source sample <paramref name="i"/> was taken from (its index in the mix's list).</summary>
    public int SourceOf(int i) => _sourceOf[i];

    /// <summary>The cursor of the mix before sample <paramref name="i"/> (<paramref name="i"/> = the chunk's count: after it).</summary>
    public ReadCursor CursorAt(int i)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(i);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(i, _sourceOf.Length);
        var picks = (long[])_startPicks.Clone();
        var next = (ReadCursor[])_startNext.Clone();
        for (int j = 0; j < i; j++)
        {
            int s = _sourceOf[j];
            picks[s]++;
            next[s] = _own[j] with { Offset = _own[j].Offset + 1 };
        }
        return ReadCursor.InMix(new MixCursor(picks, next, _weights) { Since = _since });
    }
}
