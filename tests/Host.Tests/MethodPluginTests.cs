using System.Text.Json;
using Contrastive.Training;

namespace Contrastive.Host.Tests;

/// <summary>Every method the registry has, through the one training loop: train, checkpoint, resume, evaluate.</summary>
public sealed class MethodPluginTests() : TempFolderTest("methods")
{
    private static JsonElement LastJson(string stdout) => JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement;

    [Fact]
    public async Task Every_registered_method_trains_checkpoints_resumes_and_evaluates_through_the_one_loop()
    {
        string images = Path.Combine(Folder, "images"), series = Path.Combine(Folder, "series");
        var (code, _, err) = await CliRunner.Run("demo-data", "--output", images, "--count", "240", "--width", "32", "--height", "32", "--seed", "1");
        Assert.True(code == 0, err);
        (code, _, err) = await CliRunner.Run("demo-data", "--kind", "series", "--output", series, "--count", "120", "--length", "1280", "--seed", "1");
        Assert.True(code == 0, err);
        string captioned = Path.Combine(Folder, "captions");
        (code, _, err) = await CliRunner.Run("demo-data", "--kind", "captions", "--output", captioned, "--count", "240", "--width", "32", "--height", "32", "--seed", "1");
        Assert.True(code == 0, err);

        Assert.NotEmpty(MethodRegistry.All);
        foreach (var method in MethodRegistry.All)
        {
            bool isImages = method.Data == MethodData.Images, isSeries = method.Data == MethodData.Series;
            // Methods that read captions (clip with its images, simcse alone) train on the captioned demo data.
            string data = isSeries ? series : method.Captions(method.NewOptions()) is null ? images : captioned;
            string run = Path.Combine(Folder, "run-" + method.Name);
            // Settings of other methods' sections are ignored by this one: the same arguments serve every method.
            string[] common = ["train", "--method", method.Name, "--data", data, "--out", run, "--max-minutes", "0", "--batch-size", "16",
                "--image-size", "16", "--workers", "1", "--local-views", "2", "--window", "640", "--text-width", "32", "--text-layers", "1", "--context-length", "24", "--checkpoint-every", "2", "--seed", "3", "--json"];
            (code, var stdout, err) = await CliRunner.Run([.. common, "--max-steps", "3"]);
            Assert.True(code == 0, $"{method.Name}: {err}");
            var r = LastJson(stdout);
            Assert.Equal(3, r.GetProperty("steps").GetInt64());
            Assert.Equal(48, r.GetProperty("samples").GetInt64());
            Assert.InRange(r.GetProperty("input_bound").GetDouble(), 0, 1);
            string checkpoint = r.GetProperty("checkpoint").GetString()!;
            Assert.True(File.Exists(checkpoint), $"{method.Name}: no checkpoint at {checkpoint}");
            Assert.Equal(method.Name, CheckpointStore.Read(checkpoint).Info.Method);
            string metric = isSeries ? "probe_top1" : "knn_top1";
            Assert.InRange(r.GetProperty(metric).GetDouble(), 0, 1);
            Assert.InRange(r.GetProperty(metric + "_random_init").GetDouble(), 0, 1);

            (code, stdout, err) = await CliRunner.Run([.. common, "--max-steps", "5", "--resume"]);
            Assert.True(code == 0, $"{method.Name} resume: {err}");
            var resumed = LastJson(stdout);
            Assert.Equal(3, resumed.GetProperty("resumed_from_step").GetInt64());
            Assert.Equal(5, resumed.GetProperty("steps").GetInt64());
            Assert.Equal(80, resumed.GetProperty("samples").GetInt64());

            if (!isImages) continue;
            (code, stdout, err) = await CliRunner.Run("eval", "--checkpoint", resumed.GetProperty("checkpoint").GetString()!, "--train-data", data,
                "--test-data", Path.Combine(data, "shard-00000.parquet"), "--workers", "1", "--json");
            Assert.True(code == 0, $"{method.Name} eval: {err}");
            Assert.InRange(LastJson(stdout).GetProperty("knn_top1").GetDouble(), 0.1, 1); // bank and queries overlap: well above chance
        }
    }

    [Fact]
    public async Task Methods_json_lists_every_registered_method_with_data_views_labels_and_defaults()
    {
        var (code, stdout, err) = await CliRunner.Run("methods", "--json");
        Assert.True(code == 0, err);
        var methods = LastJson(stdout).GetProperty("methods").EnumerateArray().ToList();
        Assert.Equal(MethodRegistry.All.Select(m => m.Name), methods.Select(m => m.GetProperty("name").GetString()));
        foreach (var m in methods)
        {
            var registration = MethodRegistry.Get(m.GetProperty("name").GetString());
            Assert.Equal(registration.Data.ToString().ToLowerInvariant(), m.GetProperty("data").GetString());
            Assert.Equal(registration.NeedsLabels, m.GetProperty("needs_labels").GetBoolean());
            Assert.False(string.IsNullOrWhiteSpace(m.GetProperty("views").GetString()));
            Assert.NotEmpty(m.GetProperty("defaults").EnumerateObject());
        }
        var supcon = methods.Single(m => m.GetProperty("name").GetString() == "supcon");
        Assert.True(supcon.GetProperty("needs_labels").GetBoolean());
        Assert.Equal(0.1, supcon.GetProperty("defaults").GetProperty("Temperature").GetDouble());
        Assert.Equal("series", methods.Single(m => m.GetProperty("name").GetString() == "cpc").GetProperty("data").GetString());
    }

    [Fact]
    public async Task Gradient_caching_for_a_method_it_does_not_fit_is_a_clear_error_not_ignored()
    {
        string images = Path.Combine(Folder, "images");
        var (code, _, err) = await CliRunner.Run("demo-data", "--output", images, "--count", "40", "--width", "16", "--height", "16");
        Assert.True(code == 0, err);
        (code, _, err) = await CliRunner.Run("train", "--method", "byol", "--data", images, "--grad-cache-chunk", "8",
            "--out", Path.Combine(Folder, "r"), "--max-steps", "1", "--image-size", "16", "--batch-size", "16", "--workers", "1");
        Assert.Equal(Cli.Usage, code);
        Assert.Contains("--grad-cache-chunk applies only to methods whose loss couples the batch's representations (simclr, supcon)", err);
        Assert.Contains("byol is not one of them", err);
        Assert.Contains("(given: 8) [Training:GradCacheChunk]", err);
    }

    /// <summary>The test-only method, registered once for the process by the one line a library user writes.</summary>
    private static readonly Lazy<bool> PluginRegistered = new(() =>
    {
        if (MethodRegistry.Find("scaledpair") is null) MethodRegistry.Register(new ScaledPairRegistration());
        return true;
    });

    [Fact]
    public async Task A_method_from_outside_the_libraries_brings_its_own_flag_to_train_help_the_service_and_its_checkpoint()
    {
        Assert.True(PluginRegistered.Value);
        var (code, help, err) = await CliRunner.Run("train", "--help");
        Assert.True(code == 0, err);
        Assert.Contains("--pair-temperature", help);
        Assert.Contains("scaledpair: the NT-Xent temperature. Default: 0.5. [ScaledPair:Temperature]", help);
        Assert.Contains("simclr, supcon, moco, byol, dino, cpc, clip, simcse, scaledpair", help);
        Assert.Equal("ScaledPair:Temperature", Serve.JobSpec.Fields["pair_temperature"]);

        string data = Path.Combine(Folder, "plugin-data"), run = Path.Combine(Folder, "plugin-run");
        (code, _, err) = await CliRunner.Run("demo-data", "--output", data, "--count", "120", "--width", "32", "--height", "32", "--seed", "2");
        Assert.True(code == 0, err);
        string[] train = ["train", "--method", "scaledpair", "--data", data, "--out", run, "--max-minutes", "0", "--max-steps", "2", "--batch-size", "16",
            "--image-size", "16", "--workers", "1", "--seed", "3", "--json"];
        // The flag is validated by the method's own options, and the error names it as given.
        (code, _, err) = await CliRunner.Run([.. train, "--pair-temperature", "0"]);
        Assert.Equal(Cli.Usage, code);
        Assert.Contains("--pair-temperature", err);
        Assert.Contains("[ScaledPair:Temperature]", err);
        (code, var stdout, err) = await CliRunner.Run([.. train, "--pair-temperature", "0.25"]);
        Assert.True(code == 0, err);
        var r = LastJson(stdout);
        Assert.Equal(2, r.GetProperty("steps").GetInt64());
        var (checkpoint, method) = CommandCheckpoint.Read(r.GetProperty("checkpoint").GetString()!);
        Assert.Equal("scaledpair", method.Name);
        Assert.Equal(0.25, ((ScaledPairOptions)method.DeserializeOptions(checkpoint.Info.MethodOptions)).Temperature);
    }

    [Fact]
    public async Task A_method_name_not_registered_is_one_line_naming_the_setting_and_the_registered_ones()
    {
        var (code, _, err) = await CliRunner.Run("train", "--method", "simsiam", "--out", Path.Combine(Folder, "r"), "--max-steps", "1");
        Assert.Equal(Cli.Usage, code);
        Assert.Contains("Training:Method", err);
        Assert.Contains(MethodRegistry.Names, err);
        Assert.DoesNotContain("   at ", err); // no stack trace
    }

    [Fact]
    public void Byol_brings_its_asymmetric_pair_and_dino_its_multi_crop()
    {
        var views = new ViewSettings(new AugmentOptions(), new MultiCropOptions { LocalViews = 3 });
        var byol = MethodRegistry.Get("byol");
        var policy = Assert.IsType<SimClrViewPolicy>(byol.ImageViews(byol.NewOptions(), views));
        Assert.True(policy.Options.Asymmetric);
        Assert.False(views.Augment.Asymmetric); // the run's own settings are not changed
        var dino = MethodRegistry.Get("dino");
        Assert.Equal(5, Assert.IsType<MultiCropViewPolicy>(dino.ImageViews(dino.NewOptions(), views)).ViewCount);
        Assert.False(Assert.IsType<SimClrViewPolicy>(MethodRegistry.Get("simclr").ImageViews(new SimClrOptions(), views)).Options.Asymmetric);
    }
}
