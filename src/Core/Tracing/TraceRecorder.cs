using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Contrastive.Core;

/// <summary>
/// A timeline of a run in Chrome's Trace Event format (the JSON object form, <c>{"traceEvents": [...]}</c>), which Perfetto,
/// chrome://tracing and speedscope open: named lanes (one per pipeline worker, the reader, the assembler, the trainer), complete
/// ("X") spans on them, and counter ("C") tracks. Thread-safe; memory and file size stay under <see cref="MaxBytes"/>:
/// <list type="bullet">
/// <item>Spans are kept by time frame (<see cref="FrameSeconds"/> long). When the spans' share of the budget fills, every other
/// kept frame is dropped and from then on only frames at the doubled stride are recorded, so a long run keeps whole frames spread
/// evenly over its length (each frame complete, nesting intact) instead of only its first minutes.</item>
/// <item>Counter samples are thinned the same way: every other sample dropped, the kept interval doubled.</item>
/// <item>With <see cref="Seconds"/> set, nothing is recorded after that many seconds from the start.</item>
/// </list>
/// A null recorder costs nothing: the <see cref="TraceExtensions"/> spans of a null recorder record nothing.
/// </summary>
public sealed class TraceRecorder
{
    /// <summary>Default size cap of a trace file: 4 MB.</summary>
    public const long DefaultMaxBytes = 4_000_000;

    /// <summary>Lane names the pipeline and the trainer use.</summary>
    public const string ReaderLane = "reader", AssemblerLane = "assembler", TrainerLane = "trainer";

    private const double SpanShare = 0.85; // of the budget; counters and lane names share the rest
    private const int OverheadBytes = 100; // an event's JSON besides its names and arguments (about 80 bytes written)

    private readonly struct Event(int lane, long start, long end, string name, string? args, long frame)
    {
        public readonly int Lane = lane;
        public readonly long Start = start, End = end, Frame = frame;
        public readonly string Name = name;
        public readonly string? Args = args;
    }

    private readonly record struct Sample(long At, double Value);

    private readonly Lock _lock = new();
    private readonly long _origin = Stopwatch.GetTimestamp();
    private readonly long _frameTicks, _endTicks;
    private readonly List<Event> _spans = [];
    private readonly Dictionary<string, (int Tid, int Sort)> _lanes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<Sample>> _counters = new(StringComparer.Ordinal);
    private readonly Dictionary<long, long> _frameBytes = []; // bytes of each kept frame's spans
    private readonly Dictionary<long, long> _frameFullAt = []; // when a frame first refused a span (ticks from the origin)
    private long _spanBytes, _counterBytes, _stride = 1, _counterTicks, _droppedSpans;

    /// <param name="maxBytes">Cap on the written file (and the memory held): at least 64 KB.</param>
    /// <param name="seconds">Record only the first this many seconds; null: the whole run.</param>
    /// <param name="frameSeconds">Length of the time frames spans are kept or dropped by.</param>
    /// <param name="counterSeconds">Shortest interval between two samples of one counter.</param>
    public TraceRecorder(long maxBytes = DefaultMaxBytes, double? seconds = null, double frameSeconds = 0.5, double counterSeconds = 0.25)
    {
        if (maxBytes < 65_536) throw new ArgumentOutOfRangeException(nameof(maxBytes), maxBytes, "a trace needs at least 64 KB");
        if (seconds is <= 0) throw new ArgumentOutOfRangeException(nameof(seconds), seconds, "must be positive (or null for the whole run)");
        MaxBytes = maxBytes;
        Seconds = seconds;
        FrameSeconds = frameSeconds;
        _frameTicks = Math.Max(1, (long)(frameSeconds * Stopwatch.Frequency));
        _endTicks = seconds is { } s ? (long)(s * Stopwatch.Frequency) : long.MaxValue;
        _counterTicks = Math.Max(1, (long)(counterSeconds * Stopwatch.Frequency));
        Lane(ReaderLane, 1);
        Lane(AssemblerLane, 2);
        Lane(TrainerLane, 3);
    }

    /// <summary>Cap on the trace's size in bytes.</summary>
    public long MaxBytes { get; }

    /// <summary>Seconds recorded from the start; null: all of the run.</summary>
    public double? Seconds { get; }

    public double FrameSeconds { get; }

    /// <summary>Frames kept: one in this many (1 until the budget first fills; then 2, 4, …).</summary>
    public long Stride { get { lock (_lock) return _stride; } }

    /// <summary>Spans in the trace, and spans dropped (outside the kept frames or the time limit): together, every span ended so far.</summary>
    public (long Kept, long Dropped) SpanCounts { get { lock (_lock) return (_spans.Count, _droppedSpans); } }

    /// <summary>The lane (a "thread" in the viewer) named <paramref name="name"/>, made on first use; lanes sort by <paramref name="sort"/>, then by creation.</summary>
    public int Lane(string name, int? sort = null)
    {
        lock (_lock)
        {
            if (_lanes.TryGetValue(name, out var lane)) return lane.Tid;
            int tid = _lanes.Count + 1;
            _lanes[name] = (tid, sort ?? 100 + tid);
            return tid;
        }
    }

    /// <summary>A timestamp for <see cref="Complete"/> (<see cref="Stopwatch.GetTimestamp"/>).</summary>
    public static long Now() => Stopwatch.GetTimestamp();

    /// <summary>
    /// Records a span on <paramref name="lane"/> from <paramref name="start"/> to <paramref name="end"/> (<see cref="Stopwatch"/>
    /// timestamps). Spans of one lane must be sequential or nested, as one thread's calls are; <paramref name="args"/> is a
    /// JSON object's text or null.
    /// </summary>
    public void Complete(int lane, string name, long start, long end, string? args = null)
    {
        long from = start - _origin, to = Math.Max(start, end) - _origin;
        if (from < 0) from = 0;
        long frame = from / _frameTicks;
        int bytes = OverheadBytes + name.Length + (args?.Length ?? 0);
        lock (_lock)
        {
            if (from >= _endTicks || frame % _stride != 0) { _droppedSpans++; return; }
            // One frame may fill at most a third of the budget: a very busy run's frame is cut short there, so thinning by
            // frames always ends with the first frame kept, and three when they are full. Spans that began before the cut
            // (the parents of spans kept, open when it came: a few per lane) are still kept, so no kept span loses its parent.
            long used = _frameBytes.GetValueOrDefault(frame);
            if (used + bytes > SpanBudget / 3)
            {
                if (!_frameFullAt.TryGetValue(frame, out long fullAt)) _frameFullAt[frame] = fullAt = Stopwatch.GetTimestamp() - _origin;
                if (from >= fullAt) { _droppedSpans++; return; }
            }
            _frameBytes[frame] = used + bytes;
            _spans.Add(new Event(lane, from, Math.Min(to, Math.Max(from, _endTicks)), name, args, frame));
            _spanBytes += bytes;
            while (_spanBytes > SpanBudget && Thin()) { }
        }
    }

    /// <summary>A counter sample (a point of the track <paramref name="track"/>); samples closer than the counter interval are skipped.</summary>
    public void Counter(string track, double value)
    {
        if (double.IsNaN(value) || double.IsInfinity(value)) return;
        long at = Stopwatch.GetTimestamp() - _origin;
        lock (_lock)
        {
            if (at >= _endTicks) return;
            if (!_counters.TryGetValue(track, out var samples)) _counters[track] = samples = [];
            else if (samples.Count > 0 && at - samples[^1].At < _counterTicks) return;
            samples.Add(new Sample(at, value));
            _counterBytes += OverheadBytes + track.Length;
            while (_counterBytes > CounterBudget) ThinCounters();
        }
    }

    private long SpanBudget => (long)(MaxBytes * SpanShare) - LaneBytes;

    private long CounterBudget => MaxBytes - (long)(MaxBytes * SpanShare) - 4096;

    private long LaneBytes => 256 + _lanes.Sum(l => 2 * (OverheadBytes + l.Key.Length));

    /// <summary>Doubles the stride and drops the spans of frames no longer kept; false when only the first frame was left to keep.</summary>
    private bool Thin()
    {
        if (_frameBytes.Keys.All(f => f == 0)) return false;
        _stride *= 2;
        long stride = _stride;
        int before = _spans.Count;
        _spans.RemoveAll(e => e.Frame % stride != 0);
        _droppedSpans += before - _spans.Count;
        foreach (long frame in _frameBytes.Keys.Where(f => f % stride != 0).ToList())
        {
            _frameBytes.Remove(frame);
            _frameFullAt.Remove(frame);
        }
        _spanBytes = _frameBytes.Values.Sum();
        return true;
    }

    private void ThinCounters()
    {
        _counterTicks *= 2;
        _counterBytes = 0;
        foreach (var (track, samples) in _counters)
        {
            var kept = samples.Where((_, i) => i % 2 == 0).ToList();
            samples.Clear();
            samples.AddRange(kept);
            _counterBytes += (long)samples.Count * (OverheadBytes + track.Length);
        }
    }

    /// <summary>Writes the trace to <paramref name="path"/> (folders made as needed).</summary>
    public void WriteTo(string path)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        using var file = new StreamWriter(path, append: false, new UTF8Encoding(false));
        WriteTo(file);
    }

    /// <summary>Writes the trace as one JSON object: lane names first, then spans in time order per lane, then counters.</summary>
    public void WriteTo(TextWriter w)
    {
        lock (_lock)
        {
            int pid = Environment.ProcessId;
            w.Write("{\"displayTimeUnit\":\"ms\",\"otherData\":{\"generator\":\"contrastive\",\"stride\":");
            w.Write(_stride.ToString(CultureInfo.InvariantCulture));
            w.Write(",\"frame_seconds\":");
            w.Write(FrameSeconds.ToString("R", CultureInfo.InvariantCulture));
            w.Write(",\"dropped_spans\":");
            w.Write(_droppedSpans.ToString(CultureInfo.InvariantCulture));
            w.Write("},\n\"traceEvents\":[\n");
            w.Write($"{{\"ph\":\"M\",\"pid\":{pid},\"tid\":0,\"name\":\"process_name\",\"args\":{{\"name\":\"contrastive\"}}}}");
            var used = _spans.Select(e => e.Lane).ToHashSet();
            foreach (var (name, (tid, sort)) in _lanes.Where(l => used.Contains(l.Value.Tid)).OrderBy(l => l.Value.Tid))
            {
                w.Write($",\n{{\"ph\":\"M\",\"pid\":{pid},\"tid\":{tid},\"name\":\"thread_name\",\"args\":{{\"name\":{Json(name)}}}}}");
                w.Write($",\n{{\"ph\":\"M\",\"pid\":{pid},\"tid\":{tid},\"name\":\"thread_sort_index\",\"args\":{{\"sort_index\":{sort}}}}}");
            }
            // Per lane in start order (outer span first at equal starts), so viewers that need sorted input get it.
            foreach (var e in _spans.OrderBy(e => e.Lane).ThenBy(e => e.Start).ThenByDescending(e => e.End))
            {
                long ts = Micros(e.Start), end = Micros(e.End);
                w.Write(string.Create(CultureInfo.InvariantCulture, $",\n{{\"ph\":\"X\",\"pid\":{pid},\"tid\":{e.Lane},\"name\":{Json(e.Name)},\"ts\":{Fixed(ts)},\"dur\":{Fixed(end - ts)}"));
                if (e.Args is not null) { w.Write(",\"args\":"); w.Write(e.Args); }
                w.Write('}');
            }
            foreach (var (track, samples) in _counters)
                foreach (var s in samples)
                    w.Write(string.Create(CultureInfo.InvariantCulture,
                        $",\n{{\"ph\":\"C\",\"pid\":{pid},\"tid\":0,\"name\":{Json(track)},\"ts\":{Fixed(Micros(s.At))},\"args\":{{\"value\":{Math.Round(s.Value, 3):R}}}}}"));
            w.Write("\n]}\n");
        }
    }

    /// <summary>Ticks → thousandths of a microsecond (rounded once per instant, so a child's end never passes its parent's).</summary>
    private static long Micros(long ticks) => (long)Math.Round(ticks * (1e9 / Stopwatch.Frequency));

    private static string Fixed(long nanos) => (nanos / 1000).ToString(CultureInfo.InvariantCulture) + "." + (nanos % 1000).ToString("D3", CultureInfo.InvariantCulture);

    internal static string Json(string s) => System.Text.Json.JsonSerializer.Serialize(s);
}
