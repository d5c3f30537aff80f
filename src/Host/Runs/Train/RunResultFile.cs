using System.Text.Json;
using System.Text.Json.Nodes;

namespace Contrastive.Host;

/// <summary>
/// The run's result as each rank leaves it in the run folder when the run ends (rank 0: result.json; rank R:
/// result.rankR.json): the object `train --json` prints on its last line. A supervisor reads the file rather than the
/// line: mpirun forwards each rank's stdout in pieces (of 256 bytes, through a pseudo-terminal) and interleaves the ranks'
/// result lines when they end together, so neither parses (seen in CI: a cancelled 2-process job "ended without a result
/// line"); a file renamed into place cannot be cut. Written whole to a temporary file and renamed over the old one.
/// </summary>
internal static class RunResultFile
{
    public const string FileName = "result.json";

    /// <summary>Rank <paramref name="rank"/>'s file name: result.json for rank 0, result.rankR.json for the others.</summary>
    public static string NameFor(int rank) => rank == 0 ? FileName : $"result.rank{rank}.json";

    /// <summary>Whether <paramref name="name"/> is one of the result files (rank 0's or another rank's).</summary>
    public static bool IsResultFile(string name) => name == FileName || System.Text.RegularExpressions.Regex.IsMatch(name, @"^result\.rank\d+\.json$");

    /// <summary>Writes rank <paramref name="rank"/>'s <paramref name="result"/> into <paramref name="folder"/>; an I/O error is returned, not thrown (the run has ended by then).</summary>
    public static string? TryWrite(string folder, TrainResult result, int rank = 0) => TryWriteWhole(Path.Combine(folder, NameFor(rank)), JsonSerializer.SerializeToUtf8Bytes(result));

    /// <summary>Deletes the result files a previous run left in <paramref name="folder"/> (every rank's).</summary>
    public static void DeleteAll(string folder)
    {
        foreach (var file in Directory.EnumerateFiles(folder, "result*.json").Where(f => IsResultFile(Path.GetFileName(f))))
            File.Delete(file);
    }

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
