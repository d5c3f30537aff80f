using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Contrastive.Batching;

namespace Contrastive.Host;

/// <summary>
/// Samples a running pipeline's counters on a timer: counter tracks into a trace (each queue's occupancy, images/s, working
/// set, managed heap; four times a second), and a <see cref="ProfilePoint"/> every interval, kept in memory (thinned to at
/// most <see cref="MaxPoints"/>) and appended to a pipeline.jsonl when given one (a running training's report reads it).
/// </summary>
internal sealed class PipelineSampler : IAsyncDisposable
{
    public const int MaxPoints = 4000;
    public const string FileName = "pipeline.jsonl";

    private readonly PipelineStats _stats;
    private readonly TraceRecorder? _trace;
    private readonly StreamWriter? _file;
    private readonly double _interval;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly List<ProfilePoint> _points = [];
    private readonly Lock _lock = new();
    private int _keepEvery = 1, _seen;

    /// <param name="file">pipeline.jsonl to write (made anew, the header first); null: memory only.</param>
    public PipelineSampler(PipelineStats stats, ProfileHeader header, TraceRecorder? trace, string? file, double intervalSeconds = 1)
    {
        _stats = stats;
        _trace = trace;
        _interval = intervalSeconds;
        Header = header;
        if (file is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
            _file = new StreamWriter(new FileStream(file, FileMode.Create, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
            _file.WriteLine(JsonSerializer.Serialize(header));
        }
        Add(Sample());
        _loop = Task.Run(LoopAsync);
    }

    public ProfileHeader Header { get; }

    /// <summary>The points so far, oldest first.</summary>
    public IReadOnlyList<ProfilePoint> Points { get { lock (_lock) return [.. _points]; } }

    private readonly Process _process = Process.GetCurrentProcess();

    private ProfilePoint Sample()
    {
        _process.Refresh();
        return ProfilePoint.From(_stats.Snapshot(), _process.WorkingSet64 / 1e6, GC.GetGCMemoryInfo().HeapSizeBytes / 1e6);
    }

    private async Task LoopAsync()
    {
        var clock = Stopwatch.StartNew();
        double next = _interval;
        var last = _stats.Snapshot();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                await Task.Delay(250, _stop.Token).ConfigureAwait(false);
                if (_trace is not null)
                {
                    var now = _stats.Snapshot();
                    var q = now.Queues;
                    _trace.Counter("chunk queue", q.Chunks);
                    _trace.Counter("worker input queue", q.WorkerInput);
                    _trace.Counter("prefetch queue", q.Prefetch);
                    _trace.Counter("batch buffers out", q.LeasesOut);
                    _trace.Counter("images/s", now.Since(last).SamplesDone / Math.Max(1e-9, (now.Elapsed - last.Elapsed).TotalSeconds));
                    _process.Refresh();
                    _trace.Counter("working set MB", _process.WorkingSet64 / 1e6);
                    _trace.Counter("managed heap MB", GC.GetGCMemoryInfo().HeapSizeBytes / 1e6);
                    last = now;
                }
                if (clock.Elapsed.TotalSeconds >= next)
                {
                    // Every interval for the first few minutes, then sparser: about 240 points each time the run's length doubles.
                    next += Math.Max(_interval, clock.Elapsed.TotalSeconds / 240);
                    Add(Sample());
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested) { }
    }

    private void Add(ProfilePoint p)
    {
        _file?.WriteLine(JsonSerializer.Serialize(p));
        lock (_lock)
        {
            if (_seen++ % _keepEvery != 0) return;
            _points.Add(p);
            if (_points.Count > MaxPoints)
            {
                // Keep every other point (the first and, from now on, one in twice as many).
                var kept = _points.Where((_, i) => i % 2 == 0).ToList();
                _points.Clear();
                _points.AddRange(kept);
                _keepEvery *= 2;
            }
        }
    }

    /// <summary>Takes a last point now (the end of a measured window) and stops sampling.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested) return;
        _stop.Cancel();
        await _loop.ConfigureAwait(false);
        Add(Sample());
        _file?.Dispose();
        _process.Dispose();
        _stop.Dispose();
    }

    /// <summary>Reads a pipeline.jsonl: its header and points (lines that do not parse, such as a half-written last one, are skipped).</summary>
    public static (ProfileHeader? Header, List<ProfilePoint> Points) Read(string path)
    {
        ProfileHeader? header = null;
        var points = new List<ProfilePoint>();
        using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0) continue;
            try
            {
                if (line.Contains("\"kind\":\"header\"", StringComparison.Ordinal)) header = JsonSerializer.Deserialize<ProfileHeader>(line);
                else if (JsonSerializer.Deserialize<ProfilePoint>(line) is { } p) points.Add(p);
            }
            catch (JsonException) { }
        }
        return (header, points);
    }
}
