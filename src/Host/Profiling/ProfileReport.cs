using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Contrastive.Host.Assets;

namespace Contrastive.Host;

/// <summary>
/// A profiling run as one self-contained HTML page: plots (throughput, each stage's busy share, queue occupancy, starvation,
/// memory; for training also loss, learning rate and evaluations), a per-stage time table and a verdict in words. uPlot
/// (vendored, <see cref="HostAssets"/>) is inlined: nothing is fetched from the internet.
/// </summary>
internal sealed partial class ProfileReport
{
    /// <summary>Points kept for a chart (evenly thinned beyond).</summary>
    private const int ChartPoints = 1500;

    public required string Title { get; init; }
    public required ProfileHeader Header { get; init; }
    /// <summary>The pipeline's points of the window reported (bench: the measured window; train: the training loop).</summary>
    public required IReadOnlyList<ProfilePoint> Points { get; init; }
    public IReadOnlyList<TrainingPoint> Training { get; init; } = [];
    public IReadOnlyList<EvaluationPoint> Evaluations { get; init; } = [];
    /// <summary>"trainer", "simulated trainer", or null (bench's null consumer).</summary>
    public string? Consumer { get; init; }
    /// <summary>Lines of context (the run's result), shown under the verdict.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    public StageFigures? Figures => StageFigures.Over(Points, Header.Workers);

    public ProfileVerdict? Verdict => Figures is { } f ? ProfileVerdict.Judge(f, Header, Consumer) : null;

    /// <summary>The report of a training output folder (finished or running): its pipeline.jsonl and metrics.jsonl.</summary>
    /// <exception cref="UsageException">The folder is missing or holds neither file.</exception>
    public static ProfileReport FromRunFolder(string dir, string flag = "--run")
    {
        if (!Directory.Exists(dir)) throw new UsageException($"{flag}: '{dir}' is not a folder (a training run's --out)");
        string pipeline = Path.Combine(dir, PipelineSampler.FileName), metrics = Path.Combine(dir, "metrics.jsonl");
        if (!File.Exists(pipeline) && !File.Exists(metrics))
            throw new UsageException($"{flag}: '{dir}' holds neither {PipelineSampler.FileName} nor metrics.jsonl; is it a training run's --out folder?");
        var (header, points) = File.Exists(pipeline) ? PipelineSampler.Read(pipeline) : (null, []);
        var (training, evaluations) = File.Exists(metrics) ? ReadMetrics(metrics) : ([], []);
        header ??= new ProfileHeader { Command = "train" };
        return new ProfileReport
        {
            Title = $"train: {header.Model ?? "training run"} · {Path.GetFileName(Path.GetFullPath(dir).TrimEnd(Path.DirectorySeparatorChar))}",
            Header = header, Points = points, Training = training, Evaluations = evaluations, Consumer = "trainer",
        };
    }

    /// <summary>A metrics.jsonl's steps and evaluations (lines that do not parse, such as a half-written last one, are skipped).</summary>
    internal static (List<TrainingPoint>, List<EvaluationPoint>) ReadMetrics(string path)
    {
        var steps = new List<TrainingPoint>();
        var evals = new List<EvaluationPoint>();
        using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
        while (reader.ReadLine() is { } line)
        {
            JsonObject? o;
            try { o = JsonNode.Parse(line) as JsonObject; }
            catch (JsonException) { continue; }
            if (o is null || o["step"] is null) continue;
            long step = o["step"]!.GetValue<long>();
            double seconds = o["seconds"]?.GetValue<double>() ?? 0;
            double? V(string k) => o[k] is { } n ? n.GetValue<double>() : null;
            foreach (var (k, v) in o)
                if (k.StartsWith("eval/", StringComparison.Ordinal) && v is not null) evals.Add(new EvaluationPoint(step, seconds, k[5..], v.GetValue<double>()));
            if (o.ContainsKey("train/loss"))
                steps.Add(new TrainingPoint(step, seconds, V("train/loss"), V("train/lr"), V("train/samples_per_sec"), V("pipeline/starvation")));
        }
        return (steps, evals);
    }

    /// <summary>Writes the page to <paramref name="path"/> (folders made as needed).</summary>
    public void WriteTo(string path)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        File.WriteAllText(path, ToHtml(), new UTF8Encoding(false));
    }

    private static IEnumerable<T> Thin<T>(IReadOnlyList<T> items, int max)
    {
        if (items.Count <= max) return items;
        double every = (double)items.Count / max;
        return Enumerable.Range(0, max).Select(i => items[(int)(i * every)]).Append(items[^1]);
    }

    /// <summary>The series the page's script draws: per-interval rates and shares from consecutive points.</summary>
    private JsonObject ChartData()
    {
        var pts = Thin(Points, ChartPoints).ToList();
        var t = new JsonArray(); var ips = new JsonArray(); var reader = new JsonArray(); var decode = new JsonArray(); var augment = new JsonArray();
        var trainer = new JsonArray(); var starve = new JsonArray(); var qc = new JsonArray(); var qw = new JsonArray(); var qp = new JsonArray();
        var ws = new JsonArray(); var heap = new JsonArray();
        double origin = pts.Count > 0 ? pts[0].Seconds : 0;
        int w = Math.Max(1, Header.Workers);
        // An interval much shorter than the others (the window's end just after a sample) gives noisy rates: merged into the next.
        var gaps = pts.Zip(pts.Skip(1), (x, y) => y.Seconds - x.Seconds).Where(g => g > 0).Order().ToList();
        double minGap = gaps.Count > 0 ? gaps[gaps.Count / 2] * 0.4 : 0;
        var a = pts.Count > 0 ? pts[0] : null;
        for (int i = 1; i < pts.Count; i++)
        {
            var b = pts[i];
            double s = b.Seconds - a!.Seconds;
            if (s <= 0 || s < minGap) continue; // the table's totals (first to last point) still count it
            t.Add(Math.Round(b.Seconds - origin, 2));
            ips.Add(Math.Round((b.SamplesDone - a.SamplesDone) / s, 1));
            reader.Add(Share((b.ReadSeconds - a.ReadSeconds) / s));
            decode.Add(Share((b.DecodeSeconds - a.DecodeSeconds) / (s * w)));
            augment.Add(Share((b.AugmentSeconds - a.AugmentSeconds) / (s * w)));
            double waited = Share((b.WaitSeconds - a.WaitSeconds) / s);
            starve.Add(waited);
            trainer.Add(Share(1 - waited));
            qc.Add(Share(StageFigures.Fill(b.QueueChunks, b.QueueChunksCapacity)));
            qw.Add(Share(StageFigures.Fill(b.QueueWorkers, b.QueueWorkersCapacity)));
            qp.Add(Share(StageFigures.Fill(b.QueuePrefetch, b.QueuePrefetchCapacity)));
            ws.Add(b.WorkingSetMb);
            heap.Add(b.HeapMb);
            a = b;
        }
        var data = new JsonObject
        {
            ["consumer"] = Consumer,
            ["pipeline"] = new JsonObject
            {
                ["t"] = t, ["images_per_sec"] = ips, ["reader"] = reader, ["decode"] = decode, ["augment"] = augment, ["trainer"] = Consumer is null ? null : trainer,
                ["starvation"] = starve, ["q_chunks"] = qc, ["q_workers"] = qw, ["q_prefetch"] = qp, ["ws_mb"] = ws, ["heap_mb"] = heap,
            },
        };
        if (Training.Count > 0)
        {
            var tr = Thin(Training, ChartPoints).ToList();
            var rate = TrainingRate();
            data["training"] = new JsonObject
            {
                ["step"] = Arr(tr.Select(p => (double?)p.Step)), ["loss"] = Arr(tr.Select(p => p.Loss)), ["lr"] = Arr(tr.Select(p => p.LearningRate)),
                ["rate_t"] = Arr(rate.Select(r => (double?)r.Seconds)), ["samples_per_sec"] = Arr(rate.Select(r => (double?)r.Rate)),
            };
        }
        if (Evaluations.Count > 0)
        {
            var names = Evaluations.Select(e => e.Name).Distinct().ToList();
            var steps = Evaluations.Select(e => e.Step).Distinct().Order().ToList();
            var series = new JsonObject();
            foreach (var n in names)
                series[n] = Arr(steps.Select(s => Evaluations.LastOrDefault(e => e.Step == s && e.Name == n)?.Value));
            data["evaluation"] = new JsonObject { ["step"] = Arr(steps.Select(s => (double?)s)), ["series"] = series };
        }
        return data;
    }

    /// <summary>Samples trained per second over time, from the steps' times (about 60 windows of the run, at least 50 ms each).</summary>
    private List<(double Seconds, double Rate)> TrainingRate()
    {
        var rates = new List<(double, double)>();
        if (Training.Count < 2 || Header.BatchSize <= 0) return rates;
        // A resumed run's steps start again at its own seconds: only the last run's steps, where the clock restarted.
        int from = 0;
        for (int i = 1; i < Training.Count; i++) if (Training[i].Seconds < Training[i - 1].Seconds) from = i;
        var steps = Training.Skip(from).ToList();
        if (steps.Count < 2) return rates;
        double window = Math.Max(0.05, (steps[^1].Seconds - steps[0].Seconds) / 60);
        var a = steps[0];
        foreach (var b in steps.Skip(1))
        {
            if (b.Seconds - a.Seconds < window) continue;
            rates.Add((Math.Round(b.Seconds, 2), Math.Round((b.Step - a.Step) * Header.BatchSize / (b.Seconds - a.Seconds), 1)));
            a = b;
        }
        return rates;
    }

    private static double Share(double v) => Math.Round(Math.Clamp(v, 0, 1), 4);

    private static JsonArray Arr(IEnumerable<double?> values) => new([.. values.Select(v => v is { } d && double.IsFinite(d) ? JsonValue.Create(Math.Round(d, 6)) : null)]);
}
