using System.Diagnostics;
using System.Text.Json;

namespace Contrastive.Augment.Tests;

/// <summary>The timeline trace: Chrome Trace Event JSON with named lanes, nested spans, counters, and a size cap that holds.</summary>
public class TraceRecorderTests
{
    [Fact]
    public void Trace_is_json_with_named_lanes_nested_spans_from_several_threads_and_counters()
    {
        var trace = new TraceRecorder();
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, w =>
        {
            int lane = trace.Lane($"worker {w + 1}");
            for (int i = 0; i < 50; i++)
                using (trace.Span(lane, "chunk", "{\"samples\":2}"))
                {
                    using (trace.Span(lane, "decode")) Thread.SpinWait(200);
                    using (trace.Span(lane, "augment")) Thread.SpinWait(200);
                }
        });
        using (trace.Span(TraceRecorder.TrainerLane, "step"))
        using (trace.Span(TraceRecorder.TrainerLane, "forward (loss)")) Thread.Sleep(1);
        trace.Counter("prefetch queue", 1);
        trace.Counter("images/s", 123.5);
        var w = new StringWriter();
        trace.WriteTo(w);

        var (lanes, spans, counters, _) = TraceFile.Parse(w.ToString());
        foreach (var name in new[] { "worker 1", "worker 2", "worker 3", "worker 4", "trainer" }) Assert.Contains(name, lanes.Values);
        Assert.DoesNotContain("reader", lanes.Values); // lanes without spans are not listed
        Assert.All(spans, s => Assert.True(lanes.ContainsKey(s.Tid), $"span {s.Name} on an unnamed lane {s.Tid}"));
        Assert.Equal(4 * 50 * 3 + 2, spans.Count);
        Assert.Equal(2, TraceFile.AssertNested(spans));
        Assert.Equal(1, counters["prefetch queue"]);
        Assert.Equal(1, counters["images/s"]);
    }

    [Fact]
    public void A_long_run_stays_under_the_cap_with_whole_frames_spread_over_it()
    {
        const long cap = 400_000;
        var trace = new TraceRecorder(cap, frameSeconds: 0.002, counterSeconds: 0.0001);
        var clock = Stopwatch.StartNew();
        Parallel.For(0, 2, w =>
        {
            int lane = trace.Lane($"worker {w + 1}");
            while (clock.Elapsed.TotalSeconds < 1.0)
            {
                using (trace.Span(lane, "chunk"))
                using (trace.Span(lane, "decode"))
                {
                    long t0 = Stopwatch.GetTimestamp();
                    while (Stopwatch.GetElapsedTime(t0).TotalMicroseconds < 50) { }
                }
                if (w == 0) trace.Counter("images/s", clock.Elapsed.TotalSeconds);
            }
        });
        var (kept, dropped) = trace.SpanCounts;
        Assert.True(kept + dropped > 10_000, $"the test should make far more spans than fit: {kept} kept, {dropped} dropped");
        string path = Path.Combine(Path.GetTempPath(), $"trace-{Guid.NewGuid():N}.json");
        try
        {
            trace.WriteTo(path);
            long size = new FileInfo(path).Length;
            Assert.True(size < cap, $"trace of {size} bytes over the {cap}-byte cap");
            Assert.True(size > cap / 4, $"trace of {size} bytes uses little of its {cap}-byte budget");
            var (_, spans, counters, root) = TraceFile.Parse(File.ReadAllText(path));
            Assert.True(trace.Stride > 1);
            Assert.Equal(trace.Stride, root.GetProperty("otherData").GetProperty("stride").GetInt64());
            Assert.True(dropped > 0);
            Assert.Equal(kept, spans.Count);
            TraceFile.AssertNested(spans);
            // Kept frames reach across the run, not only its start.
            double first = spans.Min(s => s.Start), last = spans.Max(s => s.End);
            Assert.True(last - first > 0.7e6, $"spans kept from {first} to {last} µs of a 1-s run");
            Assert.InRange(counters["images/s"], 2, 10_000);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_frame_busier_than_the_budget_is_cut_short_and_the_rest_of_the_run_still_kept()
    {
        // 50-ms frames each far busier than 64 KB hold: the first frame fills its share, later kept frames theirs.
        var trace = new TraceRecorder(65_536, frameSeconds: 0.05);
        int lane = trace.Lane("worker 1");
        var clock = Stopwatch.StartNew();
        int made = 0;
        while (clock.Elapsed.TotalSeconds < 0.6)
        {
            using (trace.Span(lane, "decode")) { }
            made++;
        }
        var (kept, dropped) = trace.SpanCounts;
        Assert.Equal(made, kept + dropped);
        var w = new StringWriter();
        trace.WriteTo(w);
        Assert.True(w.ToString().Length < 65_536, $"{w.ToString().Length} characters over the 64 KB cap");
        var (_, spans, _, _) = TraceFile.Parse(w.ToString());
        Assert.Equal(kept, spans.Count);
        Assert.True(spans.Max(s => s.End) > 0.15e6, "frames after the first should be kept too");
    }

    [Fact]
    public void Trace_seconds_stops_recording_and_a_null_recorder_records_nothing()
    {
        var trace = new TraceRecorder(seconds: 0.2);
        using (trace.Span("reader", "early")) { }
        Thread.Sleep(300);
        using (trace.Span("reader", "late")) { }
        trace.Counter("late counter", 1);
        var w = new StringWriter();
        trace.WriteTo(w);
        var (_, spans, counters, _) = TraceFile.Parse(w.ToString());
        Assert.Equal(["early"], spans.Select(s => s.Name));
        Assert.Empty(counters);

        TraceRecorder? none = null;
        using (none.Span("trainer", "step")) { } // no recorder, no exception
        Assert.Throws<ArgumentOutOfRangeException>(() => new TraceRecorder(maxBytes: 1000));
    }
}
