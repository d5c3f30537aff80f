using System.Text.Json;
using Xunit;

namespace Contrastive.Augment.Tests;

/// <summary>Reads a Chrome Trace Event file the way a viewer would and checks its lanes nest (shared with Host.Tests, linked there).</summary>
internal static class TraceFile
{
    /// <summary>The parsed trace: lane names by tid, spans (tid, name, start µs, end µs), counter samples by track.</summary>
    public static (Dictionary<long, string> Lanes, List<(long Tid, string Name, double Start, double End)> Spans, Dictionary<string, int> Counters, JsonElement Root)
        Parse(string json)
    {
        var root = JsonDocument.Parse(json).RootElement.Clone();
        var lanes = new Dictionary<long, string>();
        var spans = new List<(long, string, double, double)>();
        var counters = new Dictionary<string, int>();
        foreach (var e in root.GetProperty("traceEvents").EnumerateArray())
        {
            string ph = e.GetProperty("ph").GetString()!;
            string name = e.GetProperty("name").GetString()!;
            long tid = e.GetProperty("tid").GetInt64();
            Assert.True(e.TryGetProperty("pid", out _), "every event has a pid");
            switch (ph)
            {
                case "M" when name == "thread_name": lanes[tid] = e.GetProperty("args").GetProperty("name").GetString()!; break;
                case "M": break;
                case "X":
                    double ts = e.GetProperty("ts").GetDouble(), dur = e.GetProperty("dur").GetDouble();
                    Assert.True(dur >= 0, $"{name}: negative duration");
                    spans.Add((tid, name, ts, ts + dur));
                    break;
                case "C":
                    Assert.True(e.GetProperty("args").GetProperty("value").ValueKind == JsonValueKind.Number, $"counter {name} has a numeric value");
                    counters[name] = counters.GetValueOrDefault(name) + 1;
                    break;
                default: Assert.Fail($"unexpected phase {ph}"); break;
            }
        }
        return (lanes, spans, counters, root);
    }

    /// <summary>Asserts that on every lane any two spans are disjoint or one holds the other; returns the deepest nesting seen.</summary>
    public static int AssertNested(IEnumerable<(long Tid, string Name, double Start, double End)> spans)
    {
        int deepest = 0;
        foreach (var lane in spans.GroupBy(s => s.Tid))
        {
            var open = new Stack<(string Name, double End)>();
            foreach (var s in lane.OrderBy(s => s.Start).ThenByDescending(s => s.End))
            {
                // Times are µs with 3 decimals; ts + dur in doubles can be off by far less than the 0.001 written.
                while (open.Count > 0 && open.Peek().End <= s.Start + 1e-4) open.Pop();
                if (open.Count > 0)
                    Assert.True(s.End <= open.Peek().End + 1e-4, $"lane {lane.Key}: {s.Name} [{s.Start}, {s.End}] overlaps {open.Peek().Name} ending {open.Peek().End} without nesting");
                open.Push((s.Name, s.End));
                deepest = Math.Max(deepest, open.Count);
            }
        }
        return deepest;
    }

}
