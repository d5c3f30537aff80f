namespace Contrastive.Host.Tests;

/// <summary>One configuration path for every command: options declared once with their key, one-line errors naming the setting as given.</summary>
public sealed class OptionsPathTests() : TempFolderTest("options")
{
    [Fact]
    public async Task A_bad_command_line_value_is_one_line_naming_the_option_and_its_key()
    {
        var (code, _, err) = await CliRunner.Run("train", "--batch-size", "1", "--out", Path.Combine(Folder, "r"));
        Assert.Equal(Cli.Usage, code);
        Assert.Equal("error: --batch-size must be between 2 and 1048576 (given: 1) [Batching:BatchSize]", err.Trim());
    }

    [Theory]
    [InlineData("train")]
    [InlineData("bench")]
    [InlineData("eval")]
    [InlineData("embed")]
    [InlineData("inspect")]
    [InlineData("pack")]
    [InlineData("demo-data")]
    [InlineData("report")]
    public async Task Every_command_shows_its_options_with_the_configuration_key_they_set(string command)
    {
        var (code, stdout, err) = await CliRunner.Run(command, "--help");
        Assert.True(code == 0, err);
        Assert.Matches(@"\[(Data|Training|Batching|Eval|Evaluation|Bench|Pack|Demo|Report|Profile):[A-Za-z]+\]", stdout);
    }

    [Fact]
    public async Task Help_shows_the_defaults_of_the_options_classes()
    {
        var (_, stdout, _) = await CliRunner.Run("train", "--help");
        Assert.Contains($"Default: {new Contrastive.Batching.BatchingOptions().BatchSize}. [Batching:BatchSize]", stdout);
        Assert.Contains($"Default: {new Contrastive.Training.TrainingOptions().Out}. [Training:Out]", stdout);
        (_, stdout, _) = await CliRunner.Run("eval", "--help");
        Assert.Contains($"Default: {new Contrastive.Training.EvaluationOptions().KnnK}. [Evaluation:KnnK]", stdout);
    }

    [Fact]
    public async Task A_missing_required_setting_names_the_option()
    {
        var (code, _, err) = await CliRunner.Run("embed", "--data", Folder, "--out", Path.Combine(Folder, "e.parquet"));
        Assert.Equal(Cli.Usage, code);
        Assert.StartsWith("error: --checkpoint is required", err.Trim());
        // eval takes a checkpoint or foreign weights: one of the two.
        (code, _, err) = await CliRunner.Run("eval", "--train-data", Folder, "--test-data", Folder);
        Assert.Equal(Cli.Usage, code);
        Assert.StartsWith("error: --checkpoint or --weights: give exactly one of them", err.Trim());
        (code, _, err) = await CliRunner.Run("pack", "--input", Folder);
        Assert.Equal(Cli.Usage, code);
        Assert.Contains("--output is required", err);
    }

    [Fact]
    public async Task A_cross_field_rule_is_a_validation_error_naming_the_setting()
    {
        var (code, _, err) = await CliRunner.Run("demo-data", "--output", Path.Combine(Folder, "d"), "--count", "0");
        Assert.Equal(Cli.Usage, code);
        Assert.Contains("--count must be between 1", err);
        (code, _, err) = await CliRunner.Run("train", "--decoder", "gdi", "--out", Path.Combine(Folder, "r"));
        Assert.Equal(Cli.Usage, code);
        Assert.Contains("--decoder must be auto, turbojpeg, skia or imagesharp (given: gdi) [Decoder:Name]", err);
    }
}

/// <summary>Settings from the environment: process-wide, so these run alone.</summary>
[Collection(nameof(AloneCollection))]
public sealed class EnvironmentSettingsTests() : TempFolderTest("env")
{
    private static async Task<(int Code, string Out, string Err)> WithEnvironment(IReadOnlyDictionary<string, string?> variables, params string[] args)
    {
        var saved = variables.Keys.ToDictionary(k => k, Environment.GetEnvironmentVariable);
        try
        {
            foreach (var (k, v) in variables) Environment.SetEnvironmentVariable(k, v);
            return await CliRunner.Run(args);
        }
        finally
        {
            foreach (var (k, v) in saved) Environment.SetEnvironmentVariable(k, v);
        }
    }

    [Fact]
    public async Task A_bad_environment_value_names_the_variable()
    {
        var (code, _, err) = await WithEnvironment(new Dictionary<string, string?> { ["CONTRASTIVE_Batching__BatchSize"] = "many" },
            "train", "--out", Path.Combine(Folder, "r"));
        Assert.Equal(Cli.Usage, code);
        Assert.Equal("error: CONTRASTIVE_Batching__BatchSize: 'many' is not a valid whole number", err.Trim());
        (code, _, err) = await WithEnvironment(new Dictionary<string, string?> { ["CONTRASTIVE_Training__MaxMinutes"] = "-1" },
            "train", "--out", Path.Combine(Folder, "r"));
        Assert.Equal(Cli.Usage, code);
        Assert.Contains("CONTRASTIVE_Training__MaxMinutes must be between 0", err);
    }

    [Fact]
    public async Task Object_storage_without_credentials_says_so_and_how_to_give_them_without_waiting_on_instance_metadata()
    {
        var none = Path.Combine(Folder, "none");
        var variables = new Dictionary<string, string?>
        {
            ["AWS_ENDPOINT_URL_S3"] = "http://127.0.0.1:9", ["AWS_ACCESS_KEY_ID"] = null, ["AWS_SECRET_ACCESS_KEY"] = null, ["AWS_PROFILE"] = null,
            ["AWS_WEB_IDENTITY_TOKEN_FILE"] = null, ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = null, ["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = null,
            ["AWS_SHARED_CREDENTIALS_FILE"] = Path.Combine(none, "credentials"), ["AWS_CONFIG_FILE"] = Path.Combine(none, "config"),
        };
        var (code, _, err) = await WithEnvironment(variables, "inspect", "--data", "s3://bucket/shards/");
        Assert.Equal(Cli.Usage, code);
        Assert.Contains("no AWS credentials were found", err);
        Assert.Contains("AWS_ACCESS_KEY_ID", err);
        Assert.DoesNotContain("instance metadata", err);
    }

    [Fact]
    public async Task The_older_decoder_variable_still_chooses_the_decoder_and_is_named_in_errors()
    {
        var (code, _, err) = await WithEnvironment(new Dictionary<string, string?> { ["CONTRASTIVE_DECODER"] = "gdi" },
            "train", "--out", Path.Combine(Folder, "r"));
        Assert.Equal(Cli.Usage, code);
        Assert.Contains("CONTRASTIVE_DECODER must be auto, turbojpeg, skia or imagesharp (given: gdi)", err);
    }

    [Fact]
    public async Task The_older_pixel_limit_variable_is_read_with_underscores_and_named_in_errors()
    {
        var saved = Environment.GetEnvironmentVariable("CONTRASTIVE_MAX_PIXELS");
        try
        {
            foreach (var (value, expected) in new[] { ("1000000", 1_000_000L), ("250_000_000", 250_000_000L) })
            {
                Environment.SetEnvironmentVariable("CONTRASTIVE_MAX_PIXELS", value);
                Assert.Equal(expected, Settings.Build(new Dictionary<string, string?>()).BindDecoder().MaxPixels);
            }
            Environment.SetEnvironmentVariable("CONTRASTIVE_MAX_PIXELS", null);
            Assert.Equal(40_000_000, Settings.Build(new Dictionary<string, string?>()).BindDecoder().MaxPixels);
        }
        finally
        {
            Environment.SetEnvironmentVariable("CONTRASTIVE_MAX_PIXELS", saved);
        }
        foreach (var bad in new[] { "0", "-5", "12.5", "lots" })
        {
            var (code, _, err) = await WithEnvironment(new Dictionary<string, string?> { ["CONTRASTIVE_MAX_PIXELS"] = bad }, "train", "--out", Path.Combine(Folder, "r"));
            Assert.Equal(Cli.Usage, code);
            Assert.Contains("CONTRASTIVE_MAX_PIXELS", err);
        }
    }
}
