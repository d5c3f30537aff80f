using System.Text;
using Parquet;

namespace Contrastive.Ingest.Tests;

/// <summary>Shards written by DuckDB read correctly: both public schemas, dictionary pages, three codecs.</summary>
public class IndependentWriterTests(DuckDbShards shards) : IClassFixture<DuckDbShards>
{
    private static byte[] HfBytes(int i) => i % 11 == 4 ? [] : Encoding.ASCII.GetBytes($"img-{i % 7}" + new string('#', i % 7 * 50));

    private static async Task<List<SampleChunk>> ReadAll(ParquetImageDataset ds)
    {
        var list = new List<SampleChunk>();
        await foreach (var c in ds.ReadAsync(new ReadPlan(0, 0, false, HoldoutSplit.None))) list.Add(c);
        return list;
    }

    [Theory]
    [InlineData("hf-zstd.parquet")]
    [InlineData("hf-gzip.parquet")]
    public async Task Hugging_Face_schema_with_dictionary_pages_reads_every_value(string file)
    {
        string path = shards.File(file);
        var ds = await ParquetImageDataset.OpenAsync(path);
        Assert.Equal(250, ds.SampleCount);
        Assert.True(ds.HasLabels);
        Assert.Equal("image", ds.Shards[0].ImageColumn);
        int i = 0;
        foreach (var c in await ReadAll(ds))
        {
            using (c)
                for (int j = 0; j < c.Count; j++, i++)
                {
                    Assert.Equal(HfBytes(i), c.Images[j].ToArray());
                    Assert.Equal(i, c.Labels[j]);
                    Assert.Equal($"p{i}", c.Keys![j]);
                }
        }
        Assert.Equal(250, i);
    }

    [Theory]
    [InlineData("hf-zstd.parquet", Parquet.Meta.CompressionCodec.ZSTD)]
    [InlineData("hf-gzip.parquet", Parquet.Meta.CompressionCodec.GZIP)]
    public async Task DuckDB_wrote_dictionary_pages_with_the_codec_the_tests_claim(string file, Parquet.Meta.CompressionCodec codec)
    {
        await using var fs = File.OpenRead(shards.File(file));
        await using var reader = await ParquetReader.CreateAsync(fs);
        using var rg = reader.OpenRowGroupReader(0);
        var meta = rg.GetMetadata(reader.Schema.GetDataFields()[0])!.MetaData!;
        Assert.Equal(codec, meta.Codec);
        Assert.NotNull(meta.DictionaryPageOffset);
    }

    [Fact]
    public async Task Img2dataset_schema_reads_jpg_and_key_without_labels()
    {
        var ds = await ParquetImageDataset.OpenAsync(shards.File("img2dataset-snappy.parquet"));
        Assert.Equal(300, ds.SampleCount);
        Assert.False(ds.HasLabels);
        Assert.Equal("jpg", ds.Shards[0].ImageColumn);
        int i = 0;
        foreach (var c in await ReadAll(ds))
        {
            using (c)
                for (int j = 0; j < c.Count; j++, i++)
                {
                    Assert.Equal(Encoding.ASCII.GetBytes($"jpg-{i}" + new string('x', i % 100)), c.Images[j].ToArray());
                    Assert.Equal(Sample.NoLabel, c.Labels[j]);
                    Assert.Equal(i.ToString("D9"), c.Keys![j]);
                }
        }
        Assert.Equal(300, i);
    }
}
