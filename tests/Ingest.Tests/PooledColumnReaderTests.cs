using Parquet;
using Parquet.Schema;

namespace Contrastive.Ingest.Tests;

/// <summary>The pooled image-column reader must return exactly what Parquet.Net reads, for every layout it claims.</summary>
public class PooledColumnReaderTests
{
    private static byte[]?[] RandomValues(int n, int seed, bool withNulls, int distinct = 0)
    {
        var rng = new Random(seed);
        var pool = distinct > 0 ? Enumerable.Range(0, distinct).Select(_ => Bytes(rng)).ToArray() : null;
        return Enumerable.Range(0, n).Select(i =>
            withNulls && i % 7 == 3 ? null
            : pool is not null ? pool[rng.Next(pool.Length)]
            : Bytes(rng)).ToArray();
    }

    private static byte[] Bytes(Random rng)
    {
        var b = new byte[rng.Next(0, 3000)];
        rng.NextBytes(b);
        if (b.Length > 100) b.AsSpan(0, 50).Fill(42); // something compressible
        return b;
    }

    private static async Task<string> Write(TempDir dir, CompressionMethod codec, byte[]?[] values, int rowGroup, bool hfStruct)
    {
        string path = dir.File($"{codec}-{hfStruct}.parquet");
        var bytes = new DataField<byte[]>("bytes");
        var label = new DataField<long>("label");
        var schema = hfStruct
            ? new ParquetSchema(new StructField("image", bytes, new DataField<string>("path")), label)
            : new ParquetSchema(new DataField<byte[]>("jpg"), label);
        await using var fs = File.Create(path);
        await using var w = await ParquetWriter.CreateAsync(schema, fs, new ParquetOptions { CompressionMethod = codec });
        for (int start = 0; start < values.Length; start += rowGroup)
        {
            int n = Math.Min(rowGroup, values.Length - start);
            using var rg = w.CreateRowGroup();
            await rg.WriteAsync(schema.DataFields[0], values[start..(start + n)]!, null);
            if (hfStruct) await rg.WriteAsync(schema.DataFields[1], Enumerable.Range(start, n).Select(i => $"p{i}").ToArray(), null);
            await rg.WriteAsync<long>(schema.DataFields[^1], Enumerable.Range(start, n).Select(i => (long)i).ToArray().AsMemory());
        }
        return path;
    }

    private static async Task AssertSameAsParquetNet(string path, byte[]?[] expected)
    {
        var ds = await ParquetImageDataset.OpenAsync(path);
        int i = 0;
        await foreach (var chunk in ds.ReadAsync(new ReadPlan(0, 0, false, HoldoutSplit.None)))
        {
            using (chunk)
            {
                for (int j = 0; j < chunk.Count; j++, i++)
                {
                    Assert.Equal(expected[i] ?? [], chunk.Images[j].ToArray());
                    Assert.Equal(i, chunk.Labels[j]);
                }
            }
        }
        Assert.Equal(expected.Length, i);
    }

    [Theory]
    [InlineData(CompressionMethod.None)]
    [InlineData(CompressionMethod.Snappy)]
    [InlineData(CompressionMethod.Gzip)]
    [InlineData(CompressionMethod.Zstd)]
    [InlineData(CompressionMethod.Brotli)]
    [InlineData(CompressionMethod.Lz4Raw)]
    public async Task Every_codec_reads_the_same_bytes(CompressionMethod codec)
    {
        using var dir = new TempDir();
        var values = RandomValues(230, (int)codec, withNulls: true);
        await AssertSameAsParquetNet(await Write(dir, codec, values, 100, hfStruct: true), values);
        await AssertSameAsParquetNet(await Write(dir, codec, values, 64, hfStruct: false), values);
    }

    [Fact]
    public async Task A_truncated_shard_is_a_clear_error_naming_the_file()
    {
        using var dir = new TempDir();
        var values = RandomValues(300, 5, withNulls: false);
        string path = await Write(dir, CompressionMethod.Snappy, values, 100, hfStruct: true);
        var bytes = await File.ReadAllBytesAsync(path);
        // Corrupt the first page header (the first column chunk starts after the 4-byte magic); keep the footer intact.
        for (int i = 4; i < 16; i++) bytes[i] = 0xFF;
        await File.WriteAllBytesAsync(path, bytes);
        var ds = await ParquetImageDataset.OpenAsync(path);
        var e = await Assert.ThrowsAsync<ShardFormatException>(async () =>
        {
            await foreach (var c in ds.ReadAsync(new ReadPlan(0, 0, false, HoldoutSplit.None))) c.Dispose();
        });
        Assert.Contains(path, e.Message);
    }
}
