namespace Contrastive.Ingest.Tests;

public class ShardPackerTests
{
    private static byte[] Jpegish(int i) => [0xFF, 0xD8, 0xFF, .. Enumerable.Range(0, 200 + i % 50).Select(b => (byte)(b ^ i))];

    private static async Task<Dictionary<string, (long Label, byte[] Bytes)>> ReadAll(IImageDataset ds)
    {
        var d = new Dictionary<string, (long, byte[])>();
        await foreach (var c in ds.ReadAsync(new ReadPlan(0, 0, false, HoldoutSplit.None)))
            using (c)
                for (int i = 0; i < c.Count; i++) d[c.Keys![i]!] = (c.Labels[i], c.Images[i].ToArray());
        return d;
    }

    [Fact]
    public async Task Image_folder_to_parquet_to_webdataset_keeps_every_byte_and_label()
    {
        using var dir = new TempDir();
        for (int i = 0; i < 90; i++)
        {
            string path = Path.Combine(dir.Path, "in", $"class{i % 3}", $"img.{i}.jpg");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllBytesAsync(path, Jpegish(i));
        }
        var folder = await ImageDataset.OpenAsync(Path.Combine(dir.Path, "in"));
        var original = await ReadAll(folder);

        // Small shards: 90 images of ~230 bytes at 0.005 MB (5,243 bytes) a shard -> several shards.
        var toParquet = await ShardPacker.PackAsync(folder, dir.File("pq"), ShardPacker.Format.Parquet, shardSizeMb: 0.005, rowsPerRowGroup: 7);
        Assert.Equal(90, toParquet.Samples);
        Assert.True(toParquet.Shards > 1);
        Assert.Equal(toParquet.Shards, Directory.GetFiles(dir.File("pq"), "*.parquet").Length);
        var parquet = await ImageDataset.OpenAsync(dir.File("pq"));
        Assert.Equal("parquet", parquet.Format);
        var fromParquet = await ReadAll(parquet);
        Assert.Equal(original.Keys.Order(), fromParquet.Keys.Order());
        foreach (var (key, value) in original)
        {
            Assert.Equal(value.Label, fromParquet[key].Label);
            Assert.Equal(value.Bytes, fromParquet[key].Bytes);
        }

        var toTar = await ShardPacker.PackAsync(parquet, dir.File("wds"), ShardPacker.Format.WebDataset, shardSizeMb: 0.01);
        Assert.Equal(90, toTar.Samples);
        var wds = await ImageDataset.OpenAsync(dir.File("wds"));
        Assert.Equal("webdataset", wds.Format);
        var back = await ReadAll(wds);
        // Tar member keys drop the extension and replace other dots: "class0/img.0.jpg" -> "class0/img_0".
        Assert.Equal(original.Count, back.Count);
        foreach (var (key, value) in original)
        {
            var b = back[ShardPacker.MemberKey(key)];
            Assert.Equal(value.Label, b.Label);
            Assert.Equal(value.Bytes, b.Bytes);
        }
    }

    [Theory]
    [InlineData("demo/3/0000123.jpg", "demo/3/0000123")]
    [InlineData("/abs/../x.y.png", "abs/x_y")]
    [InlineData("a.b/c", "a_b/c")]
    [InlineData("../../etc/passwd", "etc/passwd")]
    [InlineData("", "sample")]
    public void Member_keys_stay_inside_the_shard_and_keep_webdataset_grouping(string stored, string key)
    {
        Assert.Equal(key, ShardPacker.MemberKey(stored));
    }

    [Fact]
    public void Extensions_follow_the_bytes()
    {
        Assert.Equal("jpg", ShardPacker.ImageExtension([0xFF, 0xD8, 0xFF, 0xE0]));
        Assert.Equal("png", ShardPacker.ImageExtension([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0]));
        Assert.Equal("webp", ShardPacker.ImageExtension("RIFF\0\0\0\0WEBPVP8 "u8));
    }
}

public class ShardPackerShuffleTests
{
    private static async Task<List<List<long>>> LabelsPerShard(string dir)
    {
        var result = new List<List<long>>();
        foreach (var file in Directory.GetFiles(dir, "*.parquet").Order(StringComparer.Ordinal))
        {
            var ds = await ParquetImageDataset.OpenAsync(file);
            var labels = new List<long>();
            await foreach (var c in ds.ReadAsync(new ReadPlan(0, 0, false, HoldoutSplit.None)))
                using (c) labels.AddRange(c.Labels);
            result.Add(labels);
        }
        return result;
    }

    [Fact]
    public async Task Packing_shuffles_rows_across_shards_by_default_and_keeps_stored_order_when_asked()
    {
        using var dir = new TempDir();
        for (int c = 0; c < 8; c++)
            for (int k = 0; k < 40; k++)
            {
                string path = Path.Combine(dir.Path, "in", $"class{c}", $"{k:D3}.jpg");
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                await File.WriteAllBytesAsync(path, [0xFF, 0xD8, 0xFF, .. Enumerable.Range(0, 250).Select(b => (byte)(b ^ k ^ c))]);
            }
        var folder = await ImageDataset.OpenAsync(Path.Combine(dir.Path, "in"));
        double shardMb = 40 * 253 / 1048576.0; // about one class's bytes per shard

        await ShardPacker.PackAsync(folder, dir.File("sorted"), ShardPacker.Format.Parquet, shardMb, shuffle: false);
        var sorted = await LabelsPerShard(dir.File("sorted"));
        Assert.True(sorted.Count >= 7);
        Assert.All(sorted, s => Assert.InRange(s.Distinct().Count(), 1, 2)); // class by class

        await ShardPacker.PackAsync(folder, dir.File("a"), ShardPacker.Format.Parquet, shardMb);
        await ShardPacker.PackAsync(folder, dir.File("b"), ShardPacker.Format.Parquet, shardMb);
        var a = await LabelsPerShard(dir.File("a"));
        Assert.Equal(320, a.Sum(s => s.Count));
        Assert.All(a.Take(a.Count - 1), s => Assert.True(s.Distinct().Count() >= 6, string.Join(",", s))); // every full shard holds most classes
        Assert.Equal(a, await LabelsPerShard(dir.File("b"))); // same seed: same shards
        await ShardPacker.PackAsync(folder, dir.File("c"), ShardPacker.Format.Parquet, shardMb, seed: 1);
        Assert.NotEqual(a, await LabelsPerShard(dir.File("c")));
    }
}
