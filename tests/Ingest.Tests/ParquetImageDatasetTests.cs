using Parquet;
using Parquet.Schema;

namespace Contrastive.Ingest.Tests;

public class ParquetImageDatasetTests
{
    private static ImageRow[] Rows(int n, int offset = 0) =>
        Enumerable.Range(offset, n).Select(i => new ImageRow([(byte)i, (byte)(i >> 8), 7], $"img/{i}.jpg", i % 5)).ToArray();

    private static async Task<List<SampleChunk>> ReadAll(ParquetImageDataset ds, ReadPlan plan)
    {
        var list = new List<SampleChunk>();
        await foreach (var c in ds.ReadAsync(plan)) list.Add(c);
        return list;
    }

    [Fact]
    public async Task Written_hf_schema_shards_read_back_with_labels_keys_and_global_indices()
    {
        using var dir = new TempDir();
        await ParquetImageShardWriter.WriteAsync(dir.File("a.parquet"), Rows(250), rowsPerRowGroup: 100);
        await ParquetImageShardWriter.WriteAsync(dir.File("b.parquet"), Rows(30, 250), rowsPerRowGroup: 100);

        var ds = await ParquetImageDataset.OpenAsync(dir.Path);
        Assert.Equal(2, ds.Shards.Count);
        Assert.Equal(280, ds.SampleCount);
        Assert.True(ds.HasLabels);
        Assert.Equal([100L, 100, 50], ds.Shards[0].RowGroupRows);
        Assert.Equal("image", ds.Shards[0].ImageColumn);

        var chunks = await ReadAll(ds, new ReadPlan(0, 1, Shuffle: false, HoldoutSplit.None));
        Assert.Equal(4, chunks.Count);
        int i = 0;
        foreach (var c in chunks)
        {
            for (int j = 0; j < c.Count; j++, i++)
            {
                Assert.Equal(i, c.Indices[j]);
                Assert.Equal(i % 5, c.Labels[j]);
                Assert.Equal(new byte[] { (byte)i, (byte)(i >> 8), 7 }, c.Images[j].ToArray());
                Assert.Equal($"img/{i}.jpg", c.Keys![j]);
            }
        }
        Assert.Equal(280, i);
    }

    [Fact]
    public async Task Shuffle_is_a_deterministic_permutation_per_seed_and_epoch()
    {
        using var dir = new TempDir();
        await ParquetImageShardWriter.WriteAsync(dir.File("a.parquet"), Rows(500), rowsPerRowGroup: 50);
        var ds = await ParquetImageDataset.OpenAsync(dir.File("a.parquet"));

        async Task<long[]> Order(long seed, int epoch) =>
            (await ReadAll(ds, new ReadPlan(epoch, seed, Shuffle: true, HoldoutSplit.None))).SelectMany(c => c.Indices).ToArray();

        var a = await Order(3, 0);
        Assert.Equal(a, await Order(3, 0));
        Assert.NotEqual(a, await Order(3, 1));
        Assert.NotEqual(a, await Order(4, 0));
        Assert.Equal(Enumerable.Range(0, 500).Select(x => (long)x), a.Order());
        Assert.NotEqual(Enumerable.Range(0, 500).Select(x => (long)x), a);
    }

    [Fact]
    public async Task Holdout_split_partitions_the_samples_stably()
    {
        using var dir = new TempDir();
        await ParquetImageShardWriter.WriteAsync(dir.File("a.parquet"), Rows(2000), rowsPerRowGroup: 100);
        var ds = await ParquetImageDataset.OpenAsync(dir.Path);
        var split = new HoldoutSplit(0.1);
        var train = (await ReadAll(ds, new ReadPlan(0, 0, false, split))).SelectMany(c => c.Indices).ToHashSet();
        var held = (await ReadAll(ds, new ReadPlan(0, 0, false, split, HeldOut: true))).SelectMany(c => c.Indices).ToHashSet();
        Assert.Empty(train.Intersect(held));
        Assert.Equal(2000, train.Count + held.Count);
        Assert.InRange(held.Count, 150, 250);
        Assert.All(held, i => Assert.True(split.IsHeldOut(i)));
    }

    [Fact]
    public async Task Missing_location_is_a_clear_error_naming_it()
    {
        var e = await Assert.ThrowsAsync<DataSourceException>(() => ParquetImageDataset.OpenAsync("/nonexistent/place/x.parquet"));
        Assert.Contains("/nonexistent/place/x.parquet", e.Message);
        Assert.Contains("does not exist", e.Message);
    }

    [Fact]
    public async Task Empty_directory_and_unmatched_glob_are_clear_errors()
    {
        using var dir = new TempDir();
        var e1 = await Assert.ThrowsAsync<DataSourceException>(() => ParquetImageDataset.OpenAsync(dir.Path));
        Assert.Contains("no '*.parquet' files", e1.Message);
        var e2 = await Assert.ThrowsAsync<DataSourceException>(() => ParquetImageDataset.OpenAsync(dir.File("*.parquet")));
        Assert.Contains("matches no file", e2.Message);
    }

    [Fact]
    public async Task Glob_selects_matching_shards_in_sorted_order()
    {
        using var dir = new TempDir();
        await ParquetImageShardWriter.WriteAsync(dir.File("train-1.parquet"), Rows(10));
        await ParquetImageShardWriter.WriteAsync(dir.File("train-0.parquet"), Rows(10));
        await ParquetImageShardWriter.WriteAsync(dir.File("test-0.parquet"), Rows(10));
        var shards = ShardSource.Resolve(dir.File("train-*.parquet"));
        Assert.Equal([dir.File("train-0.parquet"), dir.File("train-1.parquet")], shards);
    }

    [Fact]
    public async Task Parquet_without_an_image_column_names_the_file_and_its_columns()
    {
        using var dir = new TempDir();
        var path = dir.File("tabular.parquet");
        var schema = new ParquetSchema(new DataField<long>("id"), new DataField<double>("value"));
        await using (var fs = File.Create(path))
        await using (var w = await ParquetWriter.CreateAsync(schema, fs))
        {
            using var rg = w.CreateRowGroup();
            await rg.WriteAsync<long>(schema.DataFields[0], new long[] { 1, 2 }.AsMemory());
            await rg.WriteAsync<double>(schema.DataFields[1], new double[] { 1, 2 }.AsMemory());
        }
        var e = await Assert.ThrowsAsync<ShardFormatException>(() => ParquetImageDataset.OpenAsync(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("no image column", e.Message);
        Assert.Contains("id (Int64)", e.Message);
        Assert.Equal(path, e.Shard);
    }

    [Fact]
    public async Task A_file_that_is_not_parquet_is_a_clear_error()
    {
        using var dir = new TempDir();
        var path = dir.File("broken.parquet");
        await File.WriteAllBytesAsync(path, new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 });
        var e = await Assert.ThrowsAsync<ShardFormatException>(() => ParquetImageDataset.OpenAsync(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Unsupported_scheme_is_refused_with_the_uri()
    {
        var e = Assert.Throws<DataSourceException>(() => ShardSource.Resolve("gs://bucket/x"));
        Assert.Contains("gs://", e.Message);
    }
}
