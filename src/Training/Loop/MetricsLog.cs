using System.Globalization;
using TorchSharp;

namespace Contrastive.Training;

/// <summary>
/// A run's figures on disk in --out: `metrics.jsonl` (one JSON object per line), `metrics.csv` (step, seconds, name,
/// value) and TensorBoard event files under `tensorboard/` (TorchSharp's SummaryWriter). Appends, so a resumed run
/// continues the same files. Lines are flushed as written: a killed run keeps what it logged. A resumed run first drops
/// the rows written after its checkpoint's step (and a line cut in half by a kill), so no step is logged twice.
/// </summary>
public sealed class MetricsLog : IDisposable
{
    private readonly StreamWriter _jsonl;
    private readonly StreamWriter _csv;
    private readonly TorchSharp.Modules.SummaryWriter _tensorboard;

    /// <param name="outDir">The run folder.</param>
    /// <param name="resumedFromStep">A resumed run's checkpoint step: rows of later steps, which the run will log again, are dropped first.</param>
    public MetricsLog(string outDir, long? resumedFromStep = null)
    {
        Directory.CreateDirectory(outDir);
        if (resumedFromStep is { } from) DropAfter(outDir, from);
        _jsonl = new StreamWriter(new FileStream(Path.Combine(outDir, "metrics.jsonl"), FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
        string csvPath = Path.Combine(outDir, "metrics.csv");
        bool fresh = !File.Exists(csvPath) || new FileInfo(csvPath).Length == 0;
        _csv = new StreamWriter(new FileStream(csvPath, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
        if (fresh) _csv.WriteLine("step,seconds,name,value");
        _tensorboard = torch.utils.tensorboard.SummaryWriter(Path.Combine(outDir, "tensorboard"), createRunName: false);
    }

    /// <summary>Records <paramref name="values"/> (name → value) at <paramref name="step"/>; names like "train/loss".</summary>
    public void Write(long step, double seconds, params (string Name, double Value)[] values)
    {
        var line = new System.Text.StringBuilder();
        line.Append(CultureInfo.InvariantCulture, $"{{\"step\":{step},\"seconds\":{Math.Round(seconds, 3)}");
        foreach (var (name, value) in values)
        {
            if (double.IsNaN(value) || double.IsInfinity(value)) continue;
            line.Append(CultureInfo.InvariantCulture, $",\"{name}\":{value:R}");
            _csv.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{step},{Math.Round(seconds, 3)},{name},{value:R}"));
            _tensorboard.add_scalar(name, (float)value, checked((int)Math.Min(step, int.MaxValue)));
        }
        line.Append('}');
        _jsonl.WriteLine(line.ToString());
    }

    /// <summary>
    /// Removes from `metrics.jsonl` and `metrics.csv` in <paramref name="outDir"/> every row of a step after <paramref name="step"/>,
    /// and any line that does not parse (the torn last line of a killed run). Each file is rewritten beside itself and renamed over.
    /// </summary>
    /// <returns>Rows removed from metrics.jsonl.</returns>
    public static int DropAfter(string outDir, long step)
    {
        int dropped = Rewrite(Path.Combine(outDir, "metrics.jsonl"), line => JsonStep(line) is { } s && s <= step);
        bool header = true;
        Rewrite(Path.Combine(outDir, "metrics.csv"), line =>
        {
            if (header) { header = false; return line.StartsWith("step,", StringComparison.Ordinal); }
            int comma = line.IndexOf(',', StringComparison.Ordinal);
            return comma > 0 && line.Split(',').Length == 4
                && long.TryParse(line.AsSpan(0, comma), NumberStyles.Integer, CultureInfo.InvariantCulture, out long s) && s <= step;
        });
        return dropped;
    }

    private static long? JsonStep(string line)
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(line);
            return doc.RootElement.TryGetProperty("step", out var s) && s.TryGetInt64(out long v) ? v : null;
        }
        catch (System.Text.Json.JsonException) { return null; }
    }

    private static int Rewrite(string path, Func<string, bool> keep)
    {
        if (!File.Exists(path)) return 0;
        var lines = File.ReadAllLines(path);
        var kept = lines.Where(keep).ToList();
        if (kept.Count == lines.Length && (lines.Length == 0 || File.ReadAllText(path).EndsWith('\n'))) return 0;
        string tmp = path + ".tmp";
        File.WriteAllLines(tmp, kept);
        File.Move(tmp, path, overwrite: true);
        return lines.Length - kept.Count;
    }

    public void Dispose()
    {
        _jsonl.Dispose();
        _csv.Dispose();
    }
}
