using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace Contrastive.Host;

/// <summary>
/// Samples managed allocations in this process through the runtime's GC AllocationTick events (one event per
/// ~100 KB allocated, naming the type that crossed the threshold), so a profiling run can say what allocates.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private readonly ConcurrentDictionary<string, long> _bytes = new();
    private volatile bool _on;

    public void Start() => _on = true;

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
            EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1 /* GC */);
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (!_on || e.EventName is null || !e.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.Payload is null) return;
        string type = "?";
        long amount = 100_000;
        bool large = false;
        long size = 0;
        for (int i = 0; i < e.Payload.Count; i++)
        {
            switch (e.PayloadNames?[i])
            {
                case "TypeName": type = e.Payload[i] as string ?? "?"; break;
                case "AllocationAmount64": amount = Convert.ToInt64(e.Payload[i], System.Globalization.CultureInfo.InvariantCulture); break;
                case "ObjectSize": size = Convert.ToInt64(e.Payload[i], System.Globalization.CultureInfo.InvariantCulture); break;
                case "AllocationKind": large = Convert.ToInt32(e.Payload[i], System.Globalization.CultureInfo.InvariantCulture) != 0; break;
            }
        }
        if (large) type += size > 0 ? $" (large object heap, {size:N0} B each)" : " (large object heap)";
        _bytes.AddOrUpdate(type, amount, (_, v) => v + amount);
    }

    /// <summary>The types that crossed the sampling threshold most, with the bytes attributed to them.</summary>
    public IEnumerable<(string Type, long Bytes)> Top(int n) =>
        _bytes.OrderByDescending(kv => kv.Value).Take(n).Select(kv => (kv.Key, kv.Value));
}
