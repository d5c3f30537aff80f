using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Contrastive.Ingest;

namespace Contrastive.Host;

/// <summary>`contrastive bench`: the input pipeline's throughput per stage.</summary>
internal static class BenchCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var cmd = new Command("bench", "Measure the input pipeline's throughput per stage into a null or rate-limited consumer.");
        var o = new CommandLineOptions(cmd);
        o.Add([
            OptionGroups.Data(required: false),
            new("--method", "Training:Method", "Make the views this image method trains on (its view policy)."),
            .. OptionGroups.Batches("Samples per batch."),
            new("--workers", "Batching:Workers", "Decode + augment workers.", "0 (all cores: no trainer shares them)"),
            new("--seconds", "Bench:Seconds", "Measured seconds (after the warm-up)."),
            new("--epochs", "Bench:Epochs", "Read N whole epochs, then stop, reporting each (0: the timed window)."),
            new("--warmup", "Bench:Warmup", "Seconds run before measuring, while pools and caches fill.", "15% of --seconds, 1 to 60 s"),
            new("--consumer-rate", "Bench:ConsumerRate", "Simulate a trainer taking IMAGES_PER_S.", "a null consumer"),
            new("--stage", "Bench:Stage", "all (the whole pipeline) or ingest (reading alone: bytes handed on, no decode)."),
            new("--trace-allocations", "Bench:TraceAllocations", "Sample managed allocations (GC AllocationTick events) and print the top types to stderr."),
            OptionGroups.Decoder,
            OptionGroups.ShuffleBuffer,
            OptionGroups.Cache,
            new("--captions", "Bench:Captions", "Read the captions and tokenize them in the workers into each batch's token plane, as a clip run does; --captions false: not even with --method clip.", "as the method does (clip only)"),
            OptionGroups.TextColumn,
            .. OptionGroups.MethodFlags(captionsOnly: true),
            .. OptionGroups.Profile("none"),
        ]);
        var json = o.Json("Print the result as one JSON object on the last line.");
        cmd.SetAction(o, output, error, (c, parse, ct) => RunAsync(c, parse.GetValue(json), ct));
        return cmd;
    }

    private static async Task<int> RunAsync(CommandContext c, bool json, CancellationToken ct)
    {
        var settings = await BenchSettings.BindAsync(c, ct).ConfigureAwait(false);
        using var sampler = settings.Bench.TraceAllocations ? new AllocationSampler() : null;
        var trace = settings.Profile.NewRecorder();
        var run = new BenchRun(settings, c.Error, c.Display(), trace, () => sampler?.Start());
        bool ingest = settings.Bench.Stage == "ingest";
        var result = ingest ? await run.RunIngestAsync(ct).ConfigureAwait(false) : await run.RunAsync(ct).ConfigureAwait(false);
        var store = ObjectStoreStats.Snapshot();
        if (store.Requests > 0) result = result with { StoreRequests = store.Requests, StoreRetries = store.Retries, BytesFetched = store.BytesFetched };
        if (store.CacheUsed) result = result with { CacheHits = store.CacheHits, CacheMisses = store.CacheMisses, CacheBytes = store.CacheBytesOnDisk };
        WriteTrace(trace, settings.Profile, c.Error);
        if (settings.Profile.Report is { } path && run.Profile is { } measured) WriteReport(path, settings, measured, result, c.Error);
        if (json) c.Output.WriteLine(JsonSerializer.Serialize(result));
        else if (ingest) c.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"ingest: {result.ImagesPerSec:F0} samples/s, {result.StageRates["read_mb_per_sec"]:F1} MB/s ({result.StageRates["mean_image_bytes"]:F0} B each), {result.AllocBytesPerImage:F0} B allocated per sample, over {result.Seconds:F1} s"));
        else BenchPrinter.Print(result, c.Output);
        if (sampler is not null)
        {
            c.Say("allocations sampled in the measured window (type: bytes):");
            foreach (var (type, bytes) in sampler.Top(15)) c.Say($"  {type}: {bytes / 1e6:F1} MB");
        }
        return Cli.Ok;
    }

    /// <summary>Writes the trace where --trace asked and says where it went.</summary>
    private static void WriteTrace(TraceRecorder? trace, ProfileOptions profile, TextWriter error)
    {
        if (trace is null || profile.Trace is null) return;
        trace.WriteTo(profile.Trace);
        var (kept, _) = trace.SpanCounts;
        error.WriteLine(FormattableString.Invariant(
            $"trace: {Path.GetFullPath(profile.Trace)} ({new FileInfo(profile.Trace).Length / 1e6:F2} MB, {kept} spans{(trace.Stride > 1 ? $", one time frame in {trace.Stride}" : "")}); open it in https://ui.perfetto.dev or chrome://tracing"));
    }

    private static void WriteReport(string path, BenchSettings settings, (ProfileHeader Header, IReadOnlyList<ProfilePoint> Points) measured, BenchResult result, TextWriter error)
    {
        var report = new ProfileReport
        {
            Title = $"bench: {settings.Uri}", Header = measured.Header, Points = measured.Points, Consumer = settings.Bench.ConsumerRate is null ? null : "simulated trainer",
            Notes = [FormattableString.Invariant($"Measured {result.Seconds:F1} s after a {result.WarmupSeconds:F0} s warm-up: {result.ImagesPerSec:F0} images/s, {result.AllocBytesPerImage:F0} B allocated an image, working set {result.WorkingSetStartMb:F0} -> {result.WorkingSetEndMb:F0} MB."),
                .. result.Captions is { } t ? [FormattableString.Invariant($"Captions tokenized in the workers ({t.Tokenizer}, {t.Context}-id rows): {t.TokensPerCaption:F1} ids per caption on average; their time counts in the decode stage.")] : Array.Empty<string>()],
        };
        report.WriteTo(path);
        error.WriteLine($"report: {Path.GetFullPath(path)}{(report.Verdict is { } v ? $" ({v.Bound}, bottleneck {v.Stage})" : "")}");
    }
}
