namespace Contrastive.Core;

/// <summary>Spans that cost nothing on a null recorder: <c>using (trace.Span(TraceRecorder.TrainerLane, "allreduce")) { … }</c>.</summary>
public static class TraceExtensions
{
    /// <summary>A span on the lane named <paramref name="lane"/> (made on first use), from now until the result is disposed.</summary>
    public static TraceSpan Span(this TraceRecorder? trace, string lane, string name, string? args = null) =>
        trace is null ? default : new TraceSpan(trace, trace.Lane(lane), name, args);

    /// <summary>A span on lane <paramref name="lane"/> (a <see cref="TraceRecorder.Lane"/> id), from now until the result is disposed.</summary>
    public static TraceSpan Span(this TraceRecorder? trace, int lane, string name, string? args = null) =>
        trace is null ? default : new TraceSpan(trace, lane, name, args);
}
