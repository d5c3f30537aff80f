namespace Contrastive.Training;

/// <summary>The end of a per-thread setting's scope: runs its restore action once, on the first Dispose.</summary>
internal sealed class ScopeRestore(Action restore) : IDisposable
{
    private bool _done;

    public void Dispose()
    {
        if (_done) return;
        _done = true;
        restore();
    }
}
