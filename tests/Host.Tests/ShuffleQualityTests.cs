using System.Text.Json;
using Contrastive.Training;

namespace Contrastive.Host.Tests;

/// <summary>Class-sorted data (an ImageFolder tree, shards packed class by class) gives batches as mixed as uniform sampling.</summary>
public sealed class ShuffleQualityTests() : TempFolderTest("shuffle")
{
    private static JsonElement LastJson(string stdout) => JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement;

    /// <summary>An ImageFolder tree: root/class-k/…, 10 classes, files listed class by class.</summary>
    private string ClassSortedFolder(int count)
    {
        string root = Path.Combine(Folder, "folder");
        var look = new DemoImageGenerator.Look(24, 24, 85);
        for (int i = 0; i < count; i++)
        {
            var (label, jpeg) = DemoImageGenerator.Make(7, i, look);
            string dir = Path.Combine(root, $"class-{label}");
            Directory.CreateDirectory(dir);
            File.WriteAllBytes(Path.Combine(dir, $"{i:D5}.jpg"), jpeg);
        }
        return root;
    }

    private static async Task<JsonElement> Diversity(params string[] args)
    {
        var (code, stdout, err) = await CliRunner.Run(["bench", .. args, "--batch-size", "64", "--image-size", "16", "--seconds", "3", "--warmup", "1", "--json"]);
        Assert.True(code == 0, err);
        return LastJson(stdout).GetProperty("batch_diversity");
    }

    [Fact]
    public async Task Class_sorted_folders_and_shards_give_batches_as_mixed_as_uniform_sampling_and_without_the_buffer_they_do_not()
    {
        string folder = ClassSortedFolder(1200);

        // The folder: a permutation of all its files every epoch.
        var d = await Diversity("--data", folder);
        Assert.InRange(d.GetProperty("ratio").GetDouble(), 0.95, 1.05);
        Assert.True(d.GetProperty("uniform_distinct_labels").GetDouble() > 9, d.ToString());

        // Shards packed without shuffling keep the class-sorted order, and inspect says so.
        string sorted = Path.Combine(Folder, "sorted");
        var (code, _, err) = await CliRunner.Run("pack", "--input", folder, "--output", sorted, "--no-shuffle", "--rows-per-row-group", "50", "--shard-size-mb", "0.2");
        Assert.True(code == 0, err);
        (code, var stdout, err) = await CliRunner.Run("inspect", "--data", sorted, "--json");
        Assert.True(code == 0, err);
        Assert.True(LastJson(stdout).GetProperty("label_runs").GetProperty("looks_class_sorted").GetBoolean(), stdout);
        (code, stdout, _) = await CliRunner.Run("inspect", "--data", sorted);
        Assert.Contains("warning: the data is stored class by class", stdout);

        // Read through the shuffle buffer, class-sorted shards give uniform-like batches ...
        d = await Diversity("--data", sorted);
        Assert.InRange(d.GetProperty("ratio").GetDouble(), 0.95, 1.05);
        Assert.True(d.GetProperty("largest_unit_share").GetDouble() < 0.25, d.ToString());
        // ... and one read unit at a time they do not (the defect the buffer fixes).
        d = await Diversity("--data", sorted, "--shuffle-buffer", "0");
        Assert.True(d.GetProperty("ratio").GetDouble() < 0.5, d.ToString());
        Assert.True(d.GetProperty("largest_unit_share").GetDouble() > 0.4, d.ToString()); // 50-row units, batches of 64: about half from one unit (0.49 seen once under load)

        // pack shuffles by default: its shards are not class-sorted.
        string shuffled = Path.Combine(Folder, "shuffled");
        (code, _, err) = await CliRunner.Run("pack", "--input", folder, "--output", shuffled, "--rows-per-row-group", "50");
        Assert.True(code == 0, err);
        (code, stdout, err) = await CliRunner.Run("inspect", "--data", shuffled, "--json");
        Assert.True(code == 0, err);
        Assert.False(LastJson(stdout).GetProperty("label_runs").GetProperty("looks_class_sorted").GetBoolean(), stdout);

        // Training reports the diversity of the batches it trained on.
        (code, stdout, err) = await CliRunner.Run("train", "--data", sorted, "--out", Path.Combine(Folder, "run"), "--max-steps", "4", "--max-minutes", "0",
            "--batch-size", "64", "--image-size", "16", "--workers", "1", "--json");
        Assert.True(code == 0, err);
        Assert.InRange(LastJson(stdout).GetProperty("batch_diversity").GetProperty("ratio").GetDouble(), 0.9, 1.1);
        Assert.Contains("Data order: shuffle buffer", err);
    }
}

/// <summary>A resume reads its epoch in the order its cursor was made in, and its checkpoints say so.</summary>
public sealed class ResumedOrderTests() : TempFolderTest("order")
{
    [Fact]
    public async Task A_resumed_epoch_keeps_the_shuffle_buffer_its_cursor_was_made_under_until_the_epoch_ends()
    {
        string data = Path.Combine(Folder, "demo"), run = Path.Combine(Folder, "run");
        var (code, _, err) = await CliRunner.Run("demo-data", "--output", data, "--count", "400", "--width", "16", "--height", "16");
        Assert.True(code == 0, err);
        string[] common = ["train", "--data", data, "--out", run, "--max-steps", "30", "--max-minutes", "0", "--batch-size", "32", "--image-size", "16",
            "--workers", "1", "--checkpoint-every", "0"];
        // Steps 1-2 one unit at a time, then resumed with the default buffer: the rest of epoch 0 (about 11 steps of 32 from 360
        // training images) keeps the old order, later epochs take the new one.
        (code, _, err) = await CliRunner.Run([.. common, "--shuffle-buffer", "0", "--until-step", "2"]);
        Assert.True(code == 0, err);
        (code, _, err) = await CliRunner.Run([.. common, "--resume", "--until-step", "4"]);
        Assert.True(code == 0, err);
        var atFour = CheckpointStore.Read(Path.Combine(run, "ckpt-000000004.ckpt")).Info;
        Assert.Equal(0, atFour.Cursor!.Value.Epoch);
        Assert.Equal(0, atFour.ShuffleBuffer![0]);
        (code, _, err) = await CliRunner.Run([.. common, "--resume", "--until-step", "14"]);
        Assert.True(code == 0, err);
        var atFourteen = CheckpointStore.Read(Path.Combine(run, "ckpt-000000014.ckpt")).Info;
        Assert.Equal(1, atFourteen.Cursor!.Value.Epoch);
        Assert.Equal(Contrastive.Ingest.ReadPlan.DefaultShuffleBufferSamples, atFourteen.ShuffleBuffer![0]);
    }
}
