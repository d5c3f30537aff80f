using System.Diagnostics;
using System.Text.Json;
using Contrastive.Batching;
using Contrastive.Ingest;
using Contrastive.Training;
using static TorchSharp.torch;

namespace Contrastive.Host.Tests;

/// <summary>Small captioned data and the checkpoints the embed tests read: a tiny clip and a simclr, trained once for the class.</summary>
public sealed class EmbedFixture : IAsyncLifetime
{
    public const int EmbedDim = 16, Samples = 120;

    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "embed-" + Guid.NewGuid().ToString("N"));

    public string Captioned => Path.Combine(Folder, "captions");

    public string Plain => Path.Combine(Folder, "plain");

    public string Clip { get; private set; } = "";

    public string SimClr { get; private set; } = "";

    /// <summary>The captioned data in stored order, as the dataset reports it.</summary>
    public IReadOnlyList<(string Key, long Label, byte[] Image, string Caption)> Rows { get; private set; } = [];

    public async Task InitializeAsync()
    {
        var (code, _, err) = await CliRunner.Run("demo-data", "--kind", "captions", "--output", Captioned, "--count", Samples.ToString(), "--width", "32", "--height", "32", "--seed", "1");
        Assert.True(code == 0, err);
        (code, _, err) = await CliRunner.Run("demo-data", "--output", Plain, "--count", "20", "--width", "32", "--height", "32", "--seed", "2");
        Assert.True(code == 0, err);
        Clip = await Train("clip", new Dictionary<string, string?>
        {
            ["Clip:EmbedDim"] = EmbedDim.ToString(), ["Clip:TextWidth"] = "32", ["Clip:TextLayers"] = "1", ["Clip:TextHeads"] = "2", ["Clip:ContextLength"] = "32",
        });
        SimClr = await Train("simclr", new Dictionary<string, string?>());

        var rows = new List<(string, long, byte[], string)>();
        var data = await ImageDataset.OpenAsync(Captioned);
        await foreach (var chunk in data.ReadAsync(new ReadPlan(0, 0, Shuffle: false, HoldoutSplit.None) { Captions = true }))
            using (chunk)
                for (int i = 0; i < chunk.Count; i++)
                    rows.Add((chunk.Keys![i]!, chunk.Labels[i], chunk.Images[i].ToArray(), CaptionText.Of(chunk, i)!));
        Rows = rows;
    }

    private async Task<string> Train(string method, Dictionary<string, string?> settings)
    {
        settings["Training:Method"] = method;
        settings["Data:Uri"] = Captioned;
        settings["Training:Out"] = Path.Combine(Folder, "run-" + method);
        settings["Training:MaxSteps"] = "3";
        settings["Training:MaxMinutes"] = "0";
        settings["Training:Seed"] = "3";
        settings["Batching:BatchSize"] = "16";
        settings["Batching:Workers"] = "1";
        var (o, e) = (new StringWriter(), new StringWriter());
        int code = await Cli.TrainAsync(settings, json: true, o, e);
        Assert.True(code == 0, $"{method}: {e}");
        string checkpoint = JsonDocument.Parse(o.ToString().Trim().Split('\n')[^1]).RootElement.GetProperty("checkpoint").GetString()!;
        Assert.True(File.Exists(checkpoint), checkpoint);
        return checkpoint;
    }

    public Task DisposeAsync()
    {
        try { Directory.Delete(Folder, true); } catch (IOException) { }
        return Task.CompletedTask;
    }
}

/// <summary>`contrastive embed`: a checkpoint's image or caption embeddings with their keys, in one Parquet file read back by DuckDB.</summary>
public sealed class EmbedTests(EmbedFixture f) : IClassFixture<EmbedFixture>
{
    private const float Tolerance = 1e-5f;

    private static JsonElement LastJson(string stdout) => JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement;

    private string Out(string name) => Path.Combine(f.Folder, "out-" + Guid.NewGuid().ToString("N")[..8], name);

    [Fact]
    public async Task Image_embeddings_of_a_clip_checkpoint_are_its_joint_embeddings_of_the_eval_view_with_the_datas_keys_in_stored_order()
    {
        string file = Out("images.parquet");
        var (code, stdout, err) = await CliRunner.Run("embed", "--checkpoint", f.Clip, "--data", f.Captioned, "--out", file, "--workers", "2", "--batch-size", "16", "--json");
        Assert.True(code == 0, err);
        var r = LastJson(stdout);
        Assert.Equal(EmbedFixture.Samples, r.GetProperty("rows").GetInt64());
        Assert.Equal(EmbedFixture.EmbedDim, r.GetProperty("dims").GetInt32());
        Assert.Equal(Path.GetFullPath(file), r.GetProperty("out").GetString());
        Assert.Equal("images", r.GetProperty("kind").GetString());
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(file)!, "*.tmp-*"));

        var table = DuckDb.Read(file);
        Assert.Equal(["key VARCHAR", "index BIGINT", "label BIGINT", "embedding FLOAT[]"], table.Columns);
        Assert.Equal(f.Rows.Select(x => x.Key), table.Rows.Select(x => x.Key));
        Assert.Equal(Enumerable.Range(0, EmbedFixture.Samples).Select(i => (long)i), table.Rows.Select(x => x.Index));
        Assert.Equal(f.Rows.Select(x => (long?)x.Label), table.Rows.Select(x => x.Label));
        foreach (var row in table.Rows)
        {
            Assert.Equal(EmbedFixture.EmbedDim, row.Embedding.Length);
            Assert.InRange(Math.Sqrt(row.Embedding.Sum(v => (double)v * v)), 1 - 1e-4, 1 + 1e-4);
        }

        // Row i is the method's joint embedding of sample i's evaluation view (32-px images: taken whole, at the checkpoint's size).
        var ckpt = CheckpointStore.Read(f.Clip);
        using var method = ContrastiveTrainer.Load(ckpt, CPU);
        var clip = Assert.IsAssignableFrom<IImageTextMethod>(method);
        foreach (int i in new[] { 0, 77, EmbedFixture.Samples - 1 })
            AssertClose(EmbedOne(clip.EmbedImages, ckpt, i), table.Rows[i].Embedding, $"sample {i}");

        // Another worker count, batch size and row-group size: the same rows in the same order.
        string again = Out("again.parquet");
        (code, _, err) = await CliRunner.Run("embed", "--checkpoint", f.Clip, "--data", f.Captioned, "--out", again, "--workers", "1", "--batch-size", "7", "--rows-per-row-group", "50");
        Assert.True(code == 0, err);
        var second = DuckDb.Read(again);
        Assert.Equal(3, second.RowGroups);
        Assert.Equal(table.Rows.Select(x => (x.Key, x.Index, x.Label)), second.Rows.Select(x => (x.Key, x.Index, x.Label)));
        for (int i = 0; i < table.Rows.Count; i++) AssertClose(table.Rows[i].Embedding, second.Rows[i].Embedding, $"row {i}");
    }

    [Fact]
    public async Task Text_embeddings_are_the_text_towers_embeddings_of_each_samples_caption_with_the_caption_beside_them()
    {
        string file = Out("texts.parquet");
        var (code, stdout, err) = await CliRunner.Run("embed", "--checkpoint", f.Clip, "--data", f.Captioned, "--out", file, "--text", "--batch-size", "32", "--json");
        Assert.True(code == 0, err);
        var r = LastJson(stdout);
        Assert.Equal(EmbedFixture.Samples, r.GetProperty("rows").GetInt64());
        Assert.Equal(EmbedFixture.EmbedDim, r.GetProperty("dims").GetInt32());
        Assert.Equal("text", r.GetProperty("kind").GetString());

        var table = DuckDb.Read(file);
        Assert.Equal(["key VARCHAR", "index BIGINT", "label BIGINT", "embedding FLOAT[]", "text VARCHAR"], table.Columns);
        Assert.Equal(f.Rows.Select(x => x.Key), table.Rows.Select(x => x.Key));
        Assert.Equal(f.Rows.Select(x => x.Caption), table.Rows.Select(x => x.Text));
        Assert.Equal(Enumerable.Range(0, EmbedFixture.Samples).Select(i => (long)i), table.Rows.Select(x => x.Index));
        foreach (var row in table.Rows) Assert.InRange(Math.Sqrt(row.Embedding.Sum(v => (double)v * v)), 1 - 1e-4, 1 + 1e-4);

        using var method = ContrastiveTrainer.Load(CheckpointStore.Read(f.Clip), CPU);
        var clip = (IImageTextMethod)method;
        foreach (int i in new[] { 3, 100 })
        {
            var (tokens, lengths) = ZeroShot.Tokenize(clip.Tokenizer, [f.Rows[i].Caption]);
            using (tokens)
            using (lengths)
            using (var z = clip.EmbedTexts(tokens, lengths))
                AssertClose(z.data<float>().ToArray(), table.Rows[i].Embedding, $"caption {i}");
        }
    }

    [Fact]
    public async Task Text_embeddings_skip_and_count_samples_without_a_caption_and_never_decode_an_image()
    {
        // DuckDB's captioned shard: image bytes that are no image, caption NULL when i % 9 = 5 and white space when i % 9 = 7.
        using var shards = new Contrastive.Ingest.Tests.DuckDbShards();
        string file = Out("duckdb-texts.parquet");
        var (code, stdout, err) = await CliRunner.Run("embed", "--checkpoint", f.Clip, "--data", shards.File("hf-captions.parquet"), "--out", file, "--text", "--json");
        Assert.True(code == 0, err);
        var kept = Enumerable.Range(0, 120).Where(i => i % 9 is not (5 or 7)).ToArray();
        var r = LastJson(stdout);
        Assert.Equal(kept.Length, r.GetProperty("rows").GetInt64());
        Assert.Equal(120 - kept.Length, r.GetProperty("skipped").GetInt64());
        var table = DuckDb.Read(file);
        Assert.Equal(kept.Select(i => $"c{i}"), table.Rows.Select(x => x.Key));
        Assert.Equal(kept.Select(i => (long)i), table.Rows.Select(x => x.Index));
        Assert.Equal(kept.Select(i => (long?)(i % 4)), table.Rows.Select(x => x.Label));
        Assert.Equal(kept.Select(i => $"  A Photo  of shape {i % 5} café {i}"), table.Rows.Select(x => x.Text));
    }

    [Fact]
    public async Task Image_embeddings_of_an_image_only_checkpoint_are_its_encoder_features()
    {
        string file = Out("simclr.parquet");
        var (code, stdout, err) = await CliRunner.Run("embed", "--checkpoint", f.SimClr, "--data", f.Captioned, "--out", file, "--json");
        Assert.True(code == 0, err);
        Assert.Contains("Evaluation:CropFraction 1", err); // small images: the data-driven evaluation view
        var table = DuckDb.Read(file);
        Assert.Equal(EmbedFixture.Samples, table.Rows.Count);
        var ckpt = CheckpointStore.Read(f.SimClr);
        using var method = ContrastiveTrainer.Load(ckpt, CPU);
        var expected = EmbedOne(method.Embed, ckpt, 5);
        Assert.Equal(expected.Length, LastJson(stdout).GetProperty("dims").GetInt32());
        AssertClose(expected, table.Rows[5].Embedding, "sample 5");
    }

    [Fact]
    public async Task Usage_errors_are_clear_exit_with_2_and_leave_no_file()
    {
        string file = Out("never.parquet");
        async Task Refused(string expected, params string[] args)
        {
            var (code, _, err) = await CliRunner.Run(["embed", .. args]);
            Assert.True(code == 2, $"{string.Join(' ', args)}: exit {code}: {err}");
            Assert.Contains(expected, err);
            Assert.False(Directory.Exists(Path.GetDirectoryName(file)), "a refused run wrote into the output folder");
        }

        await Refused("no text tower", "--checkpoint", f.SimClr, "--data", f.Captioned, "--out", file, "--text");
        await Refused("--text-column", "--checkpoint", f.Clip, "--data", f.Plain, "--out", file, "--text");
        await Refused("does not exist", "--checkpoint", Path.Combine(f.Folder, "missing.ckpt"), "--data", f.Captioned, "--out", file);
        await Refused("--out", "--checkpoint", f.Clip, "--data", f.Captioned);
        await Refused("--data", "--checkpoint", f.Clip, "--out", file);

        // A series checkpoint (cpc) has no image embedding.
        string series = Path.Combine(f.Folder, "series");
        var (code, stdout, err) = await CliRunner.Run("demo-data", "--kind", "series", "--output", series, "--count", "32", "--length", "1280", "--seed", "1");
        Assert.True(code == 0, err);
        (code, stdout, err) = await CliRunner.Run("train", "--method", "cpc", "--data", series, "--out", Path.Combine(f.Folder, "run-cpc"), "--max-steps", "1",
            "--max-minutes", "0", "--batch-size", "16", "--window", "640", "--workers", "1", "--json");
        Assert.True(code == 0, err);
        await Refused("series encoder", "--checkpoint", LastJson(stdout).GetProperty("checkpoint").GetString()!, "--data", f.Captioned, "--out", file);
    }

    /// <summary>Sample <paramref name="i"/> of the captioned data through the evaluation view (taken whole) and <paramref name="embed"/>, alone in a batch.</summary>
    private float[] EmbedOne(Func<Batch, Tensor> embed, CheckpointData ckpt, int i)
    {
        int size = ckpt.Info.ImageSize;
        var worker = new ImageSampleProcessor(new EvalTransform(size, cropFraction: 1)).CreateWorker();
        try
        {
            var batch = new Batch(1, 1, size);
            worker.Prepare(f.Rows[i].Image, ckpt.Info.Seed, 0, i);
            worker.WriteView(0, ckpt.Info.Seed, 0, i, batch.ViewSlot(0, 0));
            batch.Count = 1;
            using var z = embed(batch);
            return z.to_type(ScalarType.Float32).contiguous().data<float>().ToArray();
        }
        finally
        {
            (worker as IDisposable)?.Dispose();
        }
    }

    private static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int d = 0; d < expected.Length; d++)
            Assert.True(Math.Abs(expected[d] - actual[d]) <= Tolerance, $"{what}, value {d}: expected {expected[d]}, the file has {actual[d]}");
    }

    /// <summary>A Parquet file as DuckDB (an independent reader) sees it, through tests/tools/read_parquet_duckdb.mjs.</summary>
    private sealed record DuckDb(IReadOnlyList<string> Columns, int RowGroups, IReadOnlyList<DuckDb.Row> Rows)
    {
        public sealed record Row(string Key, long Index, long? Label, float[] Embedding, string? Text);

        public static DuckDb Read(string file)
        {
            string tools = Path.Combine(RepoRoot(), "tests", "tools");
            Contrastive.Ingest.Tests.DuckDbShards.EnsureToolsInstalled(tools);
            var psi = new ProcessStartInfo("node") { WorkingDirectory = tools, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add("read_parquet_duckdb.mjs");
            psi.ArgumentList.Add(file);
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(TimeSpan.FromMinutes(2))) { p.Kill(true); throw new TimeoutException($"DuckDB did not read {file} in 2 minutes"); }
            Assert.True(p.ExitCode == 0, $"DuckDB could not read {file}: {stderr.Result}");
            var root = JsonDocument.Parse(stdout.Result).RootElement;
            var columns = root.GetProperty("columns").EnumerateArray().Select(c => $"{c.GetProperty("name").GetString()} {c.GetProperty("type").GetString()}").ToArray();
            var rows = root.GetProperty("rows").EnumerateArray().Select(r => new Row(
                r.GetProperty("key").GetString()!,
                long.Parse(r.GetProperty("index").GetString()!),
                r.GetProperty("label").ValueKind == JsonValueKind.Null ? null : long.Parse(r.GetProperty("label").GetString()!),
                r.GetProperty("embedding").EnumerateArray().Select(v => (float)v.GetDouble()).ToArray(),
                r.TryGetProperty("text", out var t) ? t.GetString() : null)).ToArray();
            return new DuckDb(columns, root.GetProperty("row_groups").GetInt32(), rows);
        }

        private static string RepoRoot()
        {
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "Contrastive.Pipeline.sln"))) return d.FullName;
            throw new InvalidOperationException($"repository root (Contrastive.Pipeline.sln) not found above {AppContext.BaseDirectory}");
        }
    }
}
