namespace Contrastive.Host.Tests;

/// <summary>A test class with its own temporary folder, removed afterwards.</summary>
public abstract class TempFolderTest : IDisposable
{
    protected TempFolderTest(string prefix)
    {
        Folder = Path.Combine(Path.GetTempPath(), prefix + "-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
    }

    /// <summary>The folder; every file the test makes goes under it.</summary>
    protected string Folder { get; }

    public void Dispose()
    {
        JobProcesses.KillUnder(Folder); // service jobs outlive a killed service by design: none outlives its test
        try { Directory.Delete(Folder, true); } catch (IOException) { }
        GC.SuppressFinalize(this);
    }
}
