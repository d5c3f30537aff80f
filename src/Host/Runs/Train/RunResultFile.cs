using System.Text.Json;
using System.Text.Json.Nodes;

namespace Contrastive.Host;

/// <summary>
/// The run's result as rank 0 leaves it in its folder (result.json) when the run ends: the object `train --json` prints on
/// its last line. A supervisor reads the file rather than the line: a launcher's forwarding of a rank's stdout can lose the
/// last lines written just before the process exits (seen under mpirun, whose ranks write to a pseudo-terminal), a file
/// renamed into place cannot. Written whole to a temporary file and renamed over the old one.
/// </summary>
internal static class RunResultFile
{
    public const string FileName = "result.json";

    /// <summary>Writes <paramref name="result"/> into <paramref name="folder"/>; an I/O error is returned, not thrown (the run has ended by then).</summary>
    public static string? TryWrite(string folder, TrainResult result) => TryWriteWhole(Path.Combine(folder, FileName), JsonSerializer.SerializeToUtf8Bytes(result));

    /// <summary>
    /// Writes <paramref name="bytes"/> to a temporary file beside <paramref name="path"/> and renames it over the path, so a
    /// reader sees the old file or the new one, never half of one; an I/O error is returned, not thrown.
    /// </summary>
    internal static string? TryWriteWhole(string path, byte[] bytes)
    {
        string temp = path + ".tmp";
        try
        {
            File.WriteAllBytes(temp, bytes);
            File.Move(temp, path, overwrite: true);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return e.Message;
        }
    }

    /// <summary>The result in <paramref name="folder"/>, or null when the run has not ended there (or the file cannot be read).</summary>
    public static JsonObject? Read(string folder)
    {
        try { return JsonNode.Parse(File.ReadAllBytes(Path.Combine(folder, FileName))) as JsonObject; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException) { return null; }
    }
}
