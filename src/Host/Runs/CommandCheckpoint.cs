using Contrastive.Training;

namespace Contrastive.Host;

/// <summary>The checkpoint a command is given (--checkpoint), read once, the same way by eval, eval --zero-shot and embed.</summary>
internal static class CommandCheckpoint
{
    /// <summary>The checkpoint at <paramref name="path"/> and its method's registration.</summary>
    /// <exception cref="UsageException">The file is missing or damaged, or its method is not in this build.</exception>
    public static (CheckpointData Data, MethodRegistration Method) Read(string path)
    {
        if (!File.Exists(path)) throw new UsageException($"--checkpoint: '{path}' does not exist.");
        CheckpointData ckpt;
        try { ckpt = CheckpointStore.Read(path); }
        catch (InvalidDataException e) { throw new UsageException($"--checkpoint: {e.Message}", e); }
        var registration = MethodRegistry.Find(ckpt.Info.Method)
            ?? throw new UsageException($"--checkpoint: '{path}' was made by method '{ckpt.Info.Method}', which this build does not have ({MethodRegistry.Names}).");
        return (ckpt, registration);
    }
}
