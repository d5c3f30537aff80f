using System.Text.Json;
using Contrastive.Ingest;
using Contrastive.Training.Text;

namespace Contrastive.Host.Tests;

/// <summary>`bench --captions`: the workers tokenize every caption into the batches' token planes, as a CLIP run does.</summary>
public sealed class BenchCaptionTests() : TempFolderTest("bench-captions")
{
    [Fact]
    public async Task Bench_with_captions_reports_the_tokenized_captions()
    {
        string data = Path.Combine(Folder, "captions");
        var (code, _, err) = await CliRunner.Run("demo-data", "--kind", "captions", "--output", data, "--count", "120", "--seed", "2");
        Assert.True(code == 0, err);

        (code, var stdout, err) = await CliRunner.Run("bench", "--data", data, "--captions", "--seconds", "1", "--warmup", "0.5",
            "--batch-size", "16", "--workers", "1", "--json");
        Assert.True(code == 0, err);
        Assert.Contains("tokenized by gpt2-bpe into 77-id rows", err);
        var r = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement;
        Assert.True(r.GetProperty("batches").GetInt64() > 0);
        Assert.Equal(0, r.GetProperty("bad_samples").GetInt64());
        Assert.True(r.GetProperty("cpu_ms_per_image").GetDouble() > 0);
        Assert.True(r.GetProperty("cpu_cores").GetDouble() > 0);
        var t = r.GetProperty("captions");
        Assert.Equal(CaptionTokenizer.Gpt2BpeName, t.GetProperty("tokenizer").GetString());
        Assert.Equal(CaptionTokenizer.DefaultContextLength, t.GetProperty("context").GetInt32());
        Assert.Equal("text", t.GetProperty("column").GetString());
        Assert.True(t.GetProperty("captions").GetInt64() >= 16);
        Assert.Equal(0, t.GetProperty("full_row_share").GetDouble());

        // The mean over the batches lies between the shortest and the longest row the tokenizer makes of these captions.
        var tokenizer = new CaptionTokenizer();
        var row = new int[tokenizer.ContextLength];
        var lengths = new List<int>();
        var ds = await ImageDataset.OpenAsync(data);
        await foreach (var chunk in ds.ReadAsync(new ReadPlan(0, 0, false, HoldoutSplit.None) { Captions = true }))
        {
            using (chunk)
            {
                for (int i = 0; i < chunk.Count; i++) lengths.Add(tokenizer.EncodeInto(CaptionText.Of(chunk, i), row));
            }
        }
        Assert.Equal(120, lengths.Count);
        Assert.True(lengths.Min() < lengths.Max());
        Assert.InRange(t.GetProperty("tokens_per_caption").GetDouble(), lengths.Min(), lengths.Max());

        // clip tokenizes without the flag, into rows of its context length, next to its one view per image.
        (code, stdout, err) = await CliRunner.Run("bench", "--data", data, "--method", "clip", "--context-length", "40", "--seconds", "1", "--warmup", "0.5",
            "--batch-size", "16", "--workers", "1", "--json");
        Assert.True(code == 0, err);
        r = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal(r.GetProperty("images_per_sec").GetDouble(), r.GetProperty("views_per_sec").GetDouble());
        Assert.Equal(40, r.GetProperty("captions").GetProperty("context").GetInt32());
        Assert.InRange(r.GetProperty("captions").GetProperty("tokens_per_caption").GetDouble(), lengths.Min(), lengths.Max());

        // --captions false: clip's image batches without tokens (the baseline of their cost); the result has no captions entry.
        (code, stdout, err) = await CliRunner.Run("bench", "--data", data, "--method", "clip", "--captions", "false", "--seconds", "1", "--warmup", "0.5",
            "--batch-size", "16", "--workers", "1", "--json");
        Assert.True(code == 0, err);
        Assert.DoesNotContain("tokenized", err);
        Assert.False(JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement.TryGetProperty("captions", out _));

        // The table form names the tokenized captions.
        (code, stdout, err) = await CliRunner.Run("bench", "--data", data, "--captions", "--seconds", "1", "--warmup", "0.5", "--batch-size", "16", "--workers", "1");
        Assert.True(code == 0, err);
        Assert.Contains("captions   tokenized by the workers (gpt2-bpe, 77-id rows, from 'text')", stdout);
    }

    [Fact]
    public async Task Bench_with_captions_on_image_only_data_names_the_data_its_columns_and_the_text_column_option()
    {
        string data = Path.Combine(Folder, "images");
        var (code, _, err) = await CliRunner.Run("demo-data", "--output", data, "--count", "20");
        Assert.True(code == 0, err);

        (code, var stdout, err) = await CliRunner.Run("bench", "--data", data, "--captions", "--seconds", "1", "--json");
        Assert.Equal(Cli.Usage, code);
        Assert.Equal("", stdout);
        string message = err.Trim();
        Assert.StartsWith($"error: --captions: '{data}' (parquet) has no captions to tokenize", message);
        Assert.Contains("looked for txt, text, caption", message);
        Assert.Contains("its columns are: image (a struct), label (Int64)", message);
        Assert.Contains("--text-column", message);

        // A caption column named but not in the data: the same exit code, naming the option.
        (code, _, err) = await CliRunner.Run("bench", "--data", data, "--captions", "--text-column", "caption_en", "--seconds", "1");
        Assert.Equal(Cli.Usage, code);
        Assert.StartsWith("error: --text-column: ", err.Trim());
        Assert.Contains("'caption_en' is not in it", err);
    }
}
