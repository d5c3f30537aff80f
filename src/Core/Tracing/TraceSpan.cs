namespace Contrastive.Core;

/// <summary>An open span: records itself on its lane when disposed. The default value (a null recorder's) records nothing.</summary>
public readonly struct TraceSpan : IDisposable
{
    private readonly TraceRecorder? _trace;
    private readonly int _lane;
    private readonly string _name;
    private readonly long _start;
    private readonly string? _args;

    internal TraceSpan(TraceRecorder trace, int lane, string name, string? args)
    {
        _trace = trace;
        _lane = lane;
        _name = name;
        _args = args;
        _start = TraceRecorder.Now();
    }

    public void Dispose() => _trace?.Complete(_lane, _name, _start, TraceRecorder.Now(), _args);
}
