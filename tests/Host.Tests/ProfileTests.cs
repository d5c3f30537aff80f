using System.Text.Json;
using System.Text.RegularExpressions;
using Contrastive.Augment.Tests;
using SkiaSharp;

namespace Contrastive.Host.Tests;

/// <summary>
/// Profiling runs: bench's and train's --trace (Chrome Trace Event JSON: named lanes, nested spans, counters, a size cap),
/// their HTML reports drawn in headless Chromium, and the verdict on a run made compute bound (a decode-bound one: DecodeBoundProfileTests).
/// </summary>
public sealed class ProfileTests() : TempFolderTest("profile")
{
    internal static JsonElement LastJson(string stdout) => JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement;

    /// <summary>The report's own marks, after its script ran in Chromium: charts drawn, charts it meant to draw, canvases.</summary>
    internal static async Task<(int Drawn, int Expected, int Canvases, string Stage, string Dom)> Render(string html)
    {
        string dom = await Chromium.DumpDom(new Uri(html).AbsoluteUri);
        int Attr(string name)
        {
            var m = Regex.Match(dom, $"<body[^>]*\\s{name}=\"(\\d+)\"");
            Assert.True(m.Success, $"the report's script did not mark {name} on <body> (did it run?)");
            return int.Parse(m.Groups[1].Value);
        }
        var stage = Regex.Match(dom, "id=\"bottleneck\" data-stage=\"([a-z]+)\"");
        Assert.True(stage.Success, "the report names no bottleneck stage");
        return (Attr("data-charts"), Attr("data-charts-expected"), Attr("data-canvases"), stage.Groups[1].Value, dom);
    }

    [Fact]
    public async Task Bench_trace_has_worker_reader_assembler_lanes_nested_spans_counters_and_stays_under_its_cap()
    {
        string data = Path.Combine(Folder, "d"), trace = Path.Combine(Folder, "bench.json"), report = Path.Combine(Folder, "bench.html");
        var (code, _, err) = await CliRunner.Run("demo-data", "--output", data, "--count", "300", "--width", "100", "--height", "80");
        Assert.True(code == 0, err);
        // 4 s of ~thousands of images/s and four spans an image: far more than 0.25 MB, so the cap has to thin the spans.
        (code, var stdout, err) = await CliRunner.Run("bench", "--data", data, "--seconds", "4", "--warmup", "0.5", "--batch-size", "16", "--workers", "2",
            "--trace", trace, "--trace-max-mb", "0.25", "--report", report, "--json");
        Assert.True(code == 0, err);
        Assert.Contains("trace: ", err);
        Assert.InRange(LastJson(stdout).GetProperty("stage_rates").GetProperty("decode_busy").GetDouble(), 0, 1);

        long size = new FileInfo(trace).Length;
        Assert.True(size < 250_000, $"trace of {size} bytes over its 0.25 MB cap");
        var (lanes, spans, counters, root) = TraceFile.Parse(File.ReadAllText(trace));
        Assert.True(root.GetProperty("otherData").GetProperty("stride").GetInt64() > 1, "the cap did not have to thin the spans: make the run longer");
        foreach (var lane in new[] { "reader", "assembler", "worker 1", "worker 2", "consumer" }) Assert.Contains(lane, lanes.Values);
        string[] Names(string lane) => [.. spans.Where(s => lanes[s.Tid] == lane).Select(s => s.Name).Distinct()];
        foreach (var worker in new[] { "worker 1", "worker 2" })
            Assert.Superset(new HashSet<string> { "chunk", "decode", "augment", "wait for slot", "slot write" }, Names(worker).ToHashSet());
        Assert.Superset(new HashSet<string> { "read", "queue chunk" }, Names("reader").ToHashSet());
        Assert.Contains("publish batch", Names("assembler"));
        Assert.True(TraceFile.AssertNested(spans) >= 2, "decode and augment should nest inside their chunk");
        foreach (var track in new[] { "chunk queue", "worker input queue", "prefetch queue", "images/s", "working set MB", "managed heap MB" })
            Assert.True(counters.GetValueOrDefault(track) >= 3, $"counter track {track}: {counters.GetValueOrDefault(track)} samples");

        var (drawn, expected, canvases, stage, dom) = await Render(report);
        Assert.Equal(5, expected); // throughput, busy shares, queues, starvation, memory
        Assert.Equal(expected, drawn);
        Assert.True(canvases >= drawn);
        Assert.Contains("pipeline alone", dom);
        Assert.Contains(stage, new[] { "read", "decode", "augment", "prefetch" });
        Assert.Contains("<table id=\"stages\"", dom);
    }

    /// <summary>Writes <paramref name="count"/> JPEGs of noise (costly to decode) into an ImageFolder tree of two classes.</summary>
    internal static void NoiseFolder(string root, int count, int width, int height)
    {
        var random = new Random(5);
        using var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        var pixels = new byte[width * height * 4];
        for (int i = 0; i < count; i++)
        {
            random.NextBytes(pixels);
            for (int p = 3; p < pixels.Length; p += 4) pixels[p] = 255;
            System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
            using var image = SKImage.FromBitmap(bitmap);
            using var jpeg = image.Encode(SKEncodedImageFormat.Jpeg, 95);
            string dir = Path.Combine(root, $"class-{i % 2}");
            Directory.CreateDirectory(dir);
            File.WriteAllBytes(Path.Combine(dir, $"{i:D3}.jpg"), jpeg.ToArray());
        }
    }

    [Fact]
    public async Task Compute_bound_training_is_judged_on_the_trainer_by_the_report_command()
    {
        // Tiny stored images (cheap to decode) and a costlier step (64-px views, batch 32): the trainer is the slow side.
        string data = Path.Combine(Folder, "tiny"), run = Path.Combine(Folder, "run"), page = Path.Combine(Folder, "pages", "compute.html");
        var (code, _, err) = await CliRunner.Run("demo-data", "--output", data, "--count", "200", "--width", "32", "--height", "32");
        Assert.True(code == 0, err);
        (code, var stdout, err) = await CliRunner.Run("train", "--data", data, "--out", run, "--max-steps", "20", "--max-minutes", "0", "--batch-size", "32",
            "--workers", "1", "--image-size", "64", "--threads", "1", "--json");
        Assert.True(code == 0, err);
        Assert.True(LastJson(stdout).GetProperty("input_bound").GetDouble() < 0.10, $"the run was meant to be compute bound: {stdout}");

        (code, stdout, err) = await CliRunner.Run("report", "--run", run, "--output", page);
        Assert.True(code == 0, err);
        Assert.Contains("verdict: Compute bound", stdout);
        var (drawn, expected, _, stage, dom) = await Render(page);
        Assert.Equal("trainer", stage);
        Assert.Contains("Verdict: compute bound", dom);
        Assert.Equal(9, expected);
        Assert.Equal(expected, drawn);
        Assert.DoesNotContain("src=\"http", dom); // self-contained: nothing fetched
    }

    [Fact]
    public async Task Report_and_trace_errors_name_the_flag()
    {
        var (code, _, err) = await CliRunner.Run("report", "--run", Path.Combine(Folder, "missing"));
        Assert.Equal(Cli.Usage, code);
        Assert.Contains("--run", err);
        Assert.Contains("missing", err);

        (code, _, err) = await CliRunner.Run("report");
        Assert.Equal(Cli.Usage, code);
        Assert.Contains("--run", err);

        Directory.CreateDirectory(Path.Combine(Folder, "empty"));
        (code, _, err) = await CliRunner.Run("report", "--run", Path.Combine(Folder, "empty"));
        Assert.Equal(Cli.Usage, code);
        Assert.Contains("metrics.jsonl", err);

        (code, _, err) = await CliRunner.Run("bench", "--data", Folder, "--trace-max-mb", "0", "--trace", Path.Combine(Folder, "t.json"));
        Assert.Equal(Cli.Usage, code);
        Assert.Contains("--trace-max-mb", err);

        (code, _, err) = await CliRunner.Run("bench", "--stage", "ingest", "--data", Folder, "--report", Path.Combine(Folder, "r.html"));
        Assert.Equal(Cli.Usage, code);
        Assert.Contains("--report", err);
    }
}

/// <summary>
/// The verdict on a run made decode bound. Alone: the CLI runs in the test process, whose thread pool and cores tests run in
/// parallel would share with its one worker; starved of them, the worker is not busy and the honest verdict is no stage.
/// </summary>
[Collection(nameof(AloneCollection))]
public sealed class DecodeBoundProfileTests() : TempFolderTest("profile")
{
    [Fact]
    public async Task Decode_bound_training_is_input_bound_on_decode_with_a_trace_of_the_trainer_and_a_drawn_report()
    {
        // Large noisy JPEGs, one worker, 16-px views on the small ConvNet: the decode is the slow side.
        string data = Path.Combine(Folder, "noise"), run = Path.Combine(Folder, "run"), trace = Path.Combine(Folder, "train.json");
        ProfileTests.NoiseFolder(data, 40, 800, 600);
        var (code, stdout, err) = await CliRunner.Run("train", "--data", data, "--out", run, "--max-steps", "60", "--max-minutes", "0", "--batch-size", "16",
            "--workers", "1", "--image-size", "16", "--threads", "1", "--checkpoint-every", "10", "--trace", trace, "--json");
        Assert.True(code == 0, err);
        var r = ProfileTests.LastJson(stdout);
        Assert.True(r.GetProperty("input_bound").GetDouble() >= 0.10, $"the run was meant to be input bound: {stdout}");
        string html = r.GetProperty("report").GetString()!;
        Assert.Equal(Path.GetFullPath(Path.Combine(run, "report.html")), html);
        Assert.True(File.Exists(Path.Combine(run, "pipeline.jsonl")));

        var (lanes, spans, _, _) = TraceFile.Parse(File.ReadAllText(trace));
        string[] trainer = [.. spans.Where(s => lanes[s.Tid] == "trainer").Select(s => s.Name).Distinct()];
        foreach (var name in new[] { "wait for batch", "step", "forward (loss)", "backward", "optimizer step", "checkpoint", "evaluation" })
            Assert.Contains(name, trainer);
        Assert.Contains("worker 1", lanes.Values);
        Assert.DoesNotContain("worker 2", lanes.Values);
        Assert.True(TraceFile.AssertNested(spans) >= 2, "forward, backward and the optimizer step should nest inside their step");

        var (drawn, expected, _, stage, dom) = await ProfileTests.Render(html);
        Assert.True(stage == "decode", $"bottleneck {stage}, not decode: {Regex.Match(dom, "Workers busy[^<]*").Value} {Regex.Match(dom, "Queues on average[^<]*").Value}");
        Assert.Contains("Verdict: input bound", dom);
        // The advice names the flag: one more worker where there is a free core, else more cores.
        Assert.Contains(Environment.ProcessorCount >= 2 ? "--workers 2 (now 1" : "More cores", dom);
        Assert.Equal(9, expected); // 5 pipeline charts, loss, learning rate, training throughput, evaluation
        Assert.Equal(expected, drawn);
    }
}
