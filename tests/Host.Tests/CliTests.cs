using Parquet;
using Parquet.Schema;

namespace Contrastive.Host.Tests;

public sealed class CliTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "cli-" + Guid.NewGuid().ToString("N"));

    public CliTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private static Task<(int Code, string Out, string Err)> Run(params string[] args) => CliRunner.Run(args);

    [Fact]
    public async Task Unknown_option_is_a_usage_error_naming_it()
    {
        var (code, _, err) = await Run("train", "--bogus-option", "3");
        Assert.Equal(Cli.Usage, code);
        Assert.Contains("--bogus-option", err);
    }

    [Fact]
    public async Task Missing_data_path_is_a_usage_error_naming_the_option_and_the_path()
    {
        string missing = Path.Combine(_dir, "nowhere");
        var (code, _, err) = await Run("train", "--data", missing, "--max-steps", "1", "--out", Path.Combine(_dir, "run"));
        Assert.Equal(Cli.Usage, code);
        Assert.Contains("--data", err);
        Assert.Contains(missing, err);
    }

    [Fact]
    public async Task Parquet_without_an_image_column_is_a_runtime_error_naming_the_file()
    {
        string path = Path.Combine(_dir, "table.parquet");
        var schema = new ParquetSchema(new DataField<string>("caption"), new DataField<long>("label"));
        await using (var fs = File.Create(path))
        await using (var w = await ParquetWriter.CreateAsync(schema, fs))
        {
            using var rg = w.CreateRowGroup();
            await rg.WriteAsync(schema.DataFields[0], new[] { "a", "b" }, null);
            await rg.WriteAsync<long>(schema.DataFields[1], new long[] { 0, 1 }.AsMemory());
        }
        var (code, _, err) = await Run("train", "--data", path, "--max-steps", "1", "--out", Path.Combine(_dir, "run"));
        Assert.Equal(Cli.Failure, code);
        Assert.Contains(path, err);
        Assert.Contains("no image column", err);
    }

    [Fact]
    public async Task Invalid_option_value_is_a_configuration_error_naming_it()
    {
        var (code, _, err) = await Run("train", "--device", "tpu", "--data", _dir, "--out", Path.Combine(_dir, "run"));
        Assert.Equal(Cli.Usage, code);
        Assert.Contains("Device", err);
    }

    [Fact]
    public async Task Eval_with_a_missing_checkpoint_names_it()
    {
        var (code, _, err) = await Run("eval", "--checkpoint", Path.Combine(_dir, "none.ckpt"), "--train-data", _dir, "--test-data", _dir);
        Assert.Equal(Cli.Usage, code);
        Assert.Contains("--checkpoint", err);
    }

    [Fact]
    public void Demo_images_are_deterministic_and_labelled_round_robin()
    {
        var a = DemoImageGenerator.Make(5, 123);
        var b = DemoImageGenerator.Make(5, 123);
        Assert.Equal(a.Jpeg, b.Jpeg);
        Assert.Equal(3, a.Label);
        Assert.NotEqual(a.Jpeg, DemoImageGenerator.Make(6, 123).Jpeg);
        Assert.Equal(0xFF, a.Jpeg[0]);
        Assert.Equal(0xD8, a.Jpeg[1]);
    }
}
