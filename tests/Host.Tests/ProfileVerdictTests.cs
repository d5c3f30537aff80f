namespace Contrastive.Host.Tests;

/// <summary>The verdict's rules on made-up windows, and the report of a training folder that is still being written.</summary>
public sealed class ProfileVerdictTests() : TempFolderTest("verdict")
{
    private static readonly ProfileHeader Header = new()
    {
        Command = "train", Workers = 2, Cores = 8, Decoder = "turbojpeg", DecodeScaling = true, BatchSize = 64, ImageSize = 224, Views = 2,
        ChunkQueue = 4, Prefetch = 2,
    };

    /// <summary>A 10-s window in which the workers spent the given seconds decoding and augmenting, the reader reading and the consumer waiting.</summary>
    private static List<ProfilePoint> Window(double decode, double augment, double read, double wait, int chunkQueue, int prefetch) =>
    [
        new ProfilePoint { Seconds = 5, QueueChunksCapacity = 4, QueuePrefetchCapacity = 2, QueueWorkersCapacity = 2 },
        new ProfilePoint
        {
            Seconds = 15, Chunks = 50, SamplesRead = 5000, SamplesDone = 5000, Decoded = 5000, Views = 10000, Batches = 78, ConsumerBatches = 78,
            DecodeSeconds = decode, AugmentSeconds = augment, ReadSeconds = read, WaitSeconds = wait,
            QueueChunks = chunkQueue, QueueChunksCapacity = 4, QueuePrefetch = prefetch, QueuePrefetchCapacity = 2, QueueWorkersCapacity = 2,
        },
    ];

    private static ProfileVerdict Judge(List<ProfilePoint> points, string? consumer = "trainer") =>
        ProfileVerdict.Judge(StageFigures.Over(points, Header.Workers)!, Header, consumer);

    [Fact]
    public void Each_stage_is_named_when_it_is_the_limit_with_the_flags_that_help()
    {
        var decode = Judge(Window(decode: 14, augment: 4, read: 1, wait: 5, chunkQueue: 4, prefetch: 0));
        Assert.Equal(("input bound", "decode"), (decode.Bound, decode.Stage));
        Assert.Contains(decode.Advice, a => a.Contains("--workers 4 (now 2; 8 cores)"));

        var augment = Judge(Window(decode: 3, augment: 15, read: 1, wait: 5, chunkQueue: 3, prefetch: 0));
        Assert.Equal("augment", augment.Stage);
        Assert.Contains(augment.Advice, a => a.Contains("--image-size"));

        var read = Judge(Window(decode: 4, augment: 3, read: 9, wait: 6, chunkQueue: 0, prefetch: 0));
        Assert.Equal("read", read.Stage);
        Assert.Contains(read.Advice, a => a.Contains("--chunk-queue 8 (now 4"));
        Assert.Contains(read.Advice, a => a.Contains("--rows-per-row-group") && a.Contains("100 samples"));

        var bursts = Judge(Window(decode: 4, augment: 3, read: 2, wait: 3, chunkQueue: 2, prefetch: 0));
        Assert.Equal("prefetch", bursts.Stage);
        Assert.Contains(bursts.Advice, a => a.Contains("--prefetch 4 (now 2)"));

        var compute = Judge(Window(decode: 6, augment: 5, read: 1, wait: 0.3, chunkQueue: 4, prefetch: 2));
        Assert.Equal(("compute bound", "trainer"), (compute.Bound, compute.Stage));
        Assert.Contains("3%", compute.Headline.Replace(" %", "%"));

        var alone = Judge(Window(decode: 14, augment: 4, read: 1, wait: 10, chunkQueue: 4, prefetch: 0), consumer: null);
        Assert.Equal(("pipeline alone", "decode"), (alone.Bound, alone.Stage));
    }

    [Fact]
    public void A_running_training_folder_reports_what_is_there_and_skips_a_half_written_line()
    {
        string run = Path.Combine(Folder, "run");
        Directory.CreateDirectory(run);
        var points = Window(decode: 14, augment: 4, read: 1, wait: 5, chunkQueue: 4, prefetch: 0);
        File.WriteAllLines(Path.Combine(run, PipelineSampler.FileName),
            [System.Text.Json.JsonSerializer.Serialize(Header with { Model = "simclr, convnet at 224 px" }),
             .. points.Select(p => System.Text.Json.JsonSerializer.Serialize(p)), "{\"t\":16,\"chunks\":5"]);
        File.WriteAllLines(Path.Combine(run, "metrics.jsonl"),
        [
            "{\"step\":1,\"seconds\":0.5,\"train/loss\":5.1,\"train/lr\":0.0001}",
            "{\"step\":2,\"seconds\":1.0,\"train/loss\":5.0,\"train/lr\":0.0002,\"train/samples_per_sec\":120,\"pipeline/starvation\":0.5}",
            "{\"step\":3,\"seconds\":1.5,\"train/lo",
        ]);
        var report = ProfileReport.FromRunFolder(run);
        Assert.Equal(2, report.Points.Count);
        Assert.Equal(2, report.Training.Count);
        Assert.Empty(report.Evaluations);
        Assert.Equal("decode", report.Verdict!.Stage);
        Assert.Contains("simclr, convnet at 224 px", report.Title);
        string html = report.ToHtml();
        Assert.Contains("data-stage=\"decode\"", html);
        Assert.DoesNotContain("chart-evaluation", html); // no evaluation yet: no chart for it
        Assert.Contains("chart-loss", html);
    }
}
