namespace Contrastive.Core;

/// <summary>
/// One batch buffer, allocated once and reused (the input pipeline's pool leases it out): V views × B samples × one
/// view's bytes (3 × S × S uint8 for images; C × L float32 for series windows), view-major (all samples' view 0, then
/// view 1, ...), plus labels, sample indices and keys. The contract between the input side and the trainer: it lives
/// here, not with the Dataflow graph, so that a trainer (and a test, or a library user with its own data) can make one.
/// </summary>
public sealed class Batch
{
    /// <summary>Image views: <paramref name="views"/> views of 3 × <paramref name="size"/>² bytes for up to <paramref name="capacity"/> samples.</summary>
    public Batch(int views, int capacity, int size) : this(views, capacity, 3 * size * size, size)
    {
    }

    /// <summary>Float series windows: one view of <paramref name="channels"/> × <paramref name="length"/> values per sample.</summary>
    public static Batch ForSeries(int capacity, int channels, int length) =>
        new(1, capacity, checked(channels * length * sizeof(float)), 0, floatStorage: true);

    /// <param name="viewBytes">Bytes of one sample's view (for image views 3 × size², unless <paramref name="viewSizes"/> gives each view's side).</param>
    /// <param name="floatStorage">Store views as float32 (<see cref="Values"/>) rather than bytes.</param>
    /// <param name="viewSizes">Image views of different sides (multi-crop), one per view; null when all are <paramref name="size"/>.</param>
    /// <param name="context">Token ids per sample (the text context length) when the batch carries captions' tokens; 0: no token plane.</param>
    public Batch(int views, int capacity, int viewBytes, int size, bool floatStorage = false, int[]? viewSizes = null, int context = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(context);
        // No views at all only for text alone (the batch then carries its samples' tokens and nothing else).
        if (views < (context > 0 ? 0 : 1))
            throw new ArgumentOutOfRangeException(nameof(views), views, "a batch needs at least one view, or none with a token plane (text alone)");
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Views = views;
        Capacity = capacity;
        Size = size;
        ViewBytes = viewBytes;
        if (viewSizes is not null && (floatStorage || viewSizes.Length != views))
            throw new ArgumentException("per-view sizes are for image views, one size per view", nameof(viewSizes));
        _viewSizes = viewSizes;
        _offsets = new long[views + 1];
        for (int v = 0; v < views; v++) _offsets[v + 1] = _offsets[v] + (long)capacity * ViewBytesOf(v);
        if (floatStorage)
        {
            if (viewBytes % sizeof(float) != 0) throw new ArgumentException($"float views need a multiple of 4 bytes, not {viewBytes}", nameof(viewBytes));
            Values = GC.AllocateUninitializedArray<float>(checked(views * capacity * (viewBytes / sizeof(float))), pinned: true);
            Pixels = [];
        }
        else
        {
            Pixels = GC.AllocateUninitializedArray<byte>(checked((int)_offsets[views]), pinned: true);
        }
        Labels = new long[capacity];
        Indices = new long[capacity];
        Sources = new long[capacity];
        Keys = new string?[capacity];
        Context = context;
        if (context > 0)
        {
            Tokens = GC.AllocateArray<int>(checked(capacity * context), pinned: true);
            TokenLengths = new int[capacity];
        }
    }

    private readonly int[]? _viewSizes; // null: every view is Size × Size (or ViewBytes for series)
    private readonly long[] _offsets;   // byte offset of each view's block of Capacity slots

    public int Views { get; }

    /// <summary>Samples the buffer holds when full.</summary>
    public int Capacity { get; }

    /// <summary>Side of view 0 in pixels, and of every view unless <see cref="ViewSize"/> says otherwise (0 for series windows).</summary>
    public int Size { get; }

    /// <summary>Side of view <paramref name="view"/> in pixels (multi-crop policies make smaller local views).</summary>
    public int ViewSize(int view) => _viewSizes?[view] ?? Size;

    /// <summary>Bytes of one sample's view <paramref name="view"/>.</summary>
    public int ViewBytesOf(int view) => _viewSizes is null ? ViewBytes : 3 * _viewSizes[view] * _viewSizes[view];

    /// <summary>Byte offset in <see cref="Pixels"/> of view <paramref name="view"/>'s block (<see cref="Capacity"/> slots of it).</summary>
    public long ViewOffset(int view) => _offsets[view];

    /// <summary>Samples in this batch (below <see cref="Capacity"/> only for a final partial batch); set by whoever fills it.</summary>
    public int Count
    {
        get => _count;
        set => _count = value >= 0 && value <= Capacity ? value : throw new ArgumentOutOfRangeException(nameof(value), $"a batch of capacity {Capacity} cannot hold {value} samples");
    }

    private int _count;

    /// <summary>The pixel buffer, pinned so a device copy can read it directly (empty when the views are floats).</summary>
    public byte[] Pixels { get; }

    /// <summary>Float views (series windows), pinned; null for uint8 image views. torch.frombuffer wraps it without a copy.</summary>
    public float[]? Values { get; }

    public long[] Labels { get; }

    /// <summary>The label of a sample that has none.</summary>
    public const long NoLabel = -1;

    public long[] Indices { get; }

    /// <summary>Each sample's read unit (shard and row group or segment) as an id, for batch-diversity figures (`BatchDiversityMeter` (Augment)).</summary>
    public long[] Sources { get; }

    /// <summary>Each sample's key (its stored path) when the shard has one; references, not copies.</summary>
    public string?[] Keys { get; }

    /// <summary>
    /// Where to resume reading so that no sample before this batch's is seen again and none after it is missed:
    /// every sample read before the cursor is in this batch or an earlier one. In deterministic mode it is exactly the
    /// sample after this batch's last; in unordered mode it is the first sample not yet in a batch (samples after it
    /// that were already in batches, at most those of the chunks in flight, are seen again after a resume).
    /// </summary>
    public ReadCursor? Resume { get; set; }

    /// <summary>
    /// Bad samples (skipped, counted) in the data before <see cref="Resume"/>: what a consumer that stops after this batch
    /// has had skipped from its data, independent of how far the pipeline has read ahead
    /// (<see cref="IBatchSource.SkippedBefore"/> gives them per shard).
    /// </summary>
    public long SkippedBefore { get; set; }

    /// <summary>Token ids per sample row of <see cref="Tokens"/>; 0 when the batch carries no text.</summary>
    public int Context { get; }

    /// <summary>
    /// The captions' token ids, [<see cref="Capacity"/>, <see cref="Context"/>] row-major, one row per sample slot, pinned
    /// (torch.frombuffer wraps it without a copy); null when the batch carries no text. Allocated once with the buffer and
    /// reused: each row is written whole (ids, then padding 0), so a reused buffer never shows an earlier batch's tokens in
    /// rows below <see cref="Count"/>; rows at or past <see cref="Count"/> are not meaningful (like their pixel slots).
    /// </summary>
    public int[]? Tokens { get; }

    /// <summary>Ids in each row that are not padding (the end token is at length − 1); null when the batch carries no text.</summary>
    public int[]? TokenLengths { get; }

    /// <summary>The token row of sample <paramref name="slot"/> (<see cref="Context"/> ids).</summary>
    public Span<int> TokenRow(int slot) => Tokens is null
        ? throw new InvalidOperationException("this batch carries no text tokens")
        : Tokens.AsSpan(slot * Context, Context);

    /// <summary>Bytes of view 0: 3 × Size × Size for images, channels × length × 4 for float series windows (<see cref="ViewBytesOf"/> for others).</summary>
    public int ViewBytes { get; }

    /// <summary>The slot of view <paramref name="view"/> of sample <paramref name="slot"/>.</summary>
    public Span<byte> ViewSlot(int view, int slot) => Values is null
        ? Pixels.AsSpan((int)_offsets[view] + slot * ViewBytesOf(view), ViewBytesOf(view))
        : System.Runtime.InteropServices.MemoryMarshal.AsBytes(Values.AsSpan((view * Capacity + slot) * (ViewBytes / sizeof(float)), ViewBytes / sizeof(float)));
}
