using Parquet;
using Parquet.Schema;

namespace Contrastive.Ingest.Tests;

/// <summary>Time-series Parquet: list columns per channel, one nested column, DuckDB-written shards, bad rows, cursors.</summary>
public class SeriesDatasetTests(DuckDbShards duck) : IClassFixture<DuckDbShards>
{
    private static SeriesRow Row(int i, int channels, int length) =>
        new(Enumerable.Range(0, channels).Select(c => Enumerable.Range(0, length).Select(j => i * 1000f + c * 100 + j).ToArray()).ToArray(), i % 4);

    private static async Task<List<SeriesChunk>> ReadAll(ParquetSeriesDataset ds, ReadPlan plan)
    {
        var list = new List<SeriesChunk>();
        await foreach (var c in ds.ReadAsync(plan)) list.Add(c);
        return list;
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(3, false)]
    [InlineData(2, true)]
    public async Task Written_series_read_back_channel_major_with_labels_and_indices(int channels, bool nested)
    {
        using var dir = new TempDir();
        var rows = Enumerable.Range(0, 45).Select(i => Row(i, channels, 5 + i % 4)).ToList();
        await ParquetSeriesShardWriter.WriteAsync(dir.File("a.parquet"), rows[..30], rowsPerRowGroup: 8, nested);
        await ParquetSeriesShardWriter.WriteAsync(dir.File("b.parquet"), rows[30..], rowsPerRowGroup: 8, nested);
        var ds = await ParquetSeriesDataset.OpenAsync(dir.Path);
        Assert.Equal(channels, ds.Channels);
        Assert.Equal(45, ds.SampleCount);
        Assert.True(ds.HasLabels);
        Assert.Equal(nested || channels == 1 ? "series" : string.Join(",", Enumerable.Range(0, channels).Select(c => $"ch{c}")), ds.Columns["series"]);

        var chunks = await ReadAll(ds, new ReadPlan(0, 0, Shuffle: false, HoldoutSplit.None));
        Assert.Equal(4 + 2, chunks.Count); // 30 rows → 4 row groups, 15 → 2
        int k = 0;
        foreach (var c in chunks)
            for (int i = 0; i < c.Count; i++, k++)
            {
                Assert.Equal(k, c.Indices[i]);
                Assert.Equal(k % 4, c.Labels[i]);
                Assert.Null(c.Problems[i]);
                Assert.Equal(5 + k % 4, c.Lengths[i]);
                for (int ch = 0; ch < channels; ch++) Assert.Equal(rows[k].Channels[ch], c.Channel(i, ch).ToArray());
            }
        Assert.Equal(45, k);
    }

    [Fact]
    public async Task DuckDB_list_of_float_with_null_rows_reads_and_marks_the_nulls()
    {
        var ds = await ParquetSeriesDataset.OpenAsync(duck.File("series-list.parquet"));
        Assert.Equal(1, ds.Channels);
        Assert.Equal(70, ds.SampleCount);
        Assert.Equal("label", ds.Columns["label"]);
        int k = 0;
        foreach (var c in await ReadAll(ds, new ReadPlan(0, 0, false, HoldoutSplit.None)))
            for (int i = 0; i < c.Count; i++, k++)
            {
                Assert.Equal(k % 3, c.Labels[i]);
                if (k % 13 == 6)
                {
                    Assert.Equal(0, c.Lengths[i]);
                    Assert.Equal("an empty series", c.Problems[i]);
                    continue;
                }
                Assert.Equal(Enumerable.Range(0, 8 + k % 5).Select(j => j * 0.5f + k), c.Channel(i, 0).ToArray());
            }
        Assert.Equal(70, k);
    }

    [Fact]
    public async Task DuckDB_nested_list_of_double_reads_as_channels()
    {
        var ds = await ParquetSeriesDataset.OpenAsync(duck.File("series-nested.parquet"));
        Assert.Equal(2, ds.Channels);
        Assert.Equal("channels", ds.Columns["series"]); // found as the only numeric list column
        int k = 0;
        foreach (var c in await ReadAll(ds, new ReadPlan(0, 0, false, HoldoutSplit.None)))
            for (int i = 0; i < c.Count; i++, k++)
            {
                Assert.Equal(6, c.Lengths[i]);
                for (int ch = 0; ch < 2; ch++)
                    Assert.Equal(Enumerable.Range(0, 6).Select(j => (float)(ch * 100 + k + j / 4.0)), c.Channel(i, ch).ToArray());
                Assert.Equal(k % 4, c.Labels[i]);
            }
        Assert.Equal(30, k);
    }

    [Fact]
    public async Task Empty_and_ragged_rows_are_marked_not_dropped()
    {
        using var dir = new TempDir();
        var rows = new List<SeriesRow>
        {
            Row(0, 2, 4),
            new([[1f, 2f, 3f], [4f, 5f]], 1), // ragged
            new([[], []], 2),                 // empty
            Row(3, 2, 4),
        };
        await ParquetSeriesShardWriter.WriteAsync(dir.File("x.parquet"), rows);
        var ds = await ParquetSeriesDataset.OpenAsync(dir.Path);
        var c = Assert.Single(await ReadAll(ds, new ReadPlan(0, 0, false, HoldoutSplit.None)));
        Assert.Equal(4, c.Count);
        Assert.Null(c.Problems[0]);
        Assert.Equal("channels of different lengths (3 and 2)", c.Problems[1]);
        Assert.Equal("an empty series", c.Problems[2]);
        Assert.Null(c.Problems[3]);
        Assert.Equal(Row(3, 2, 4).Channels[1], c.Channel(3, 1).ToArray());
    }

    [Fact]
    public async Task A_missing_or_wrong_column_names_the_shard_and_the_column()
    {
        using var dir = new TempDir();
        await ParquetSeriesShardWriter.WriteAsync(dir.File("x.parquet"), [Row(0, 1, 3)]);
        var missing = await Assert.ThrowsAsync<ShardFormatException>(() => ParquetSeriesDataset.OpenAsync(dir.Path, ["signal"]));
        Assert.Equal("signal", missing.Column);
        Assert.Contains("x.parquet", missing.Message);
        Assert.Contains("series (list<Single>)", missing.Message);
        var wrong = await Assert.ThrowsAsync<ShardFormatException>(() => ParquetSeriesDataset.OpenAsync(dir.Path, ["label"]));
        Assert.Contains("not a list of numbers", wrong.Message);

        await ParquetImageShardWriter.WriteAsync(dir.File("img.parquet"), [new ImageRow([1, 2], "p", 0)]);
        var none = await Assert.ThrowsAsync<ShardFormatException>(() => ParquetSeriesDataset.OpenAsync(dir.File("img.parquet")));
        Assert.Contains("has no series column", none.Message);
    }

    [Fact]
    public async Task Shuffle_split_ranks_and_cursor_follow_the_image_rules()
    {
        using var dir = new TempDir();
        await ParquetSeriesShardWriter.WriteAsync(dir.File("a.parquet"), Enumerable.Range(0, 90).Select(i => Row(i, 1, 3)).ToList(), rowsPerRowGroup: 10);
        var ds = await ParquetSeriesDataset.OpenAsync(dir.Path);
        async Task<List<(long Index, ReadCursor Cursor)>> Seq(ReadPlan p) =>
            (await ReadAll(ds, p)).SelectMany(c => Enumerable.Range(0, c.Count).Select(i => (c.Indices[i], c.CursorAt(i)))).ToList();

        var plan = new ReadPlan(1, 4, Shuffle: true, HoldoutSplit.None);
        var all = await Seq(plan);
        Assert.Equal(Enumerable.Range(0, 90).Select(i => (long)i), all.Select(x => x.Index).Order());
        Assert.NotEqual(Enumerable.Range(0, 90).Select(i => (long)i), all.Select(x => x.Index));
        foreach (int at in new[] { 0, 7, 45, 89 })
            Assert.Equal(all.Skip(at), await Seq(plan with { From = all[at].Cursor }));

        var ranks = new List<long>();
        for (int r = 0; r < 4; r++) ranks.AddRange((await Seq(plan with { Rank = r, WorldSize = 4 })).Select(x => x.Index));
        Assert.Equal(Enumerable.Range(0, 90).Select(i => (long)i), ranks.Order()); // disjoint and complete
    }
}
