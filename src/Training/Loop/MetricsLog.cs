using System.Globalization;
using TorchSharp;

namespace Contrastive.Training;

/// <summary>
/// A run's figures on disk in --out: `metrics.jsonl` (one JSON object per line), `metrics.csv` (step, seconds, name,
/// value) and TensorBoard event files under `tensorboard/` (TorchSharp's SummaryWriter). Appends, so a resumed run
/// continues the same files. Lines are flushed as written: a killed run keeps what it logged.
/// </summary>
public sealed class MetricsLog : IDisposable
{
    private readonly StreamWriter _jsonl;
    private readonly StreamWriter _csv;
    private readonly TorchSharp.Modules.SummaryWriter _tensorboard;

    public MetricsLog(string outDir)
    {
        Directory.CreateDirectory(outDir);
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

    public void Dispose()
    {
        _jsonl.Dispose();
        _csv.Dispose();
    }
}
