using System.Formats.Tar;
using System.Text;

namespace Contrastive.Ingest.Tests;

/// <summary>Captions travel with their images: Parquet text columns (written by DuckDB), key.txt in tar shards, .txt sidecars in image folders.</summary>
public class CaptionTests(DuckDbShards shards) : IClassFixture<DuckDbShards>
{
    private static string? HfCaption(int i) => (i % 9) switch
    {
        5 => null,
        7 => " \t  ",
        _ => $"  A Photo  of shape {i % 5} café {i}",
    };

    private static async Task<List<SampleChunk>> ReadAll(IImageDataset ds, ReadPlan? plan = null)
    {
        var list = new List<SampleChunk>();
        await foreach (var c in ds.ReadAsync(plan ?? new ReadPlan(0, 0, false, HoldoutSplit.None) { Captions = true })) list.Add(c);
        return list;
    }

    [Fact]
    public async Task Img2dataset_txt_column_is_read_as_each_samples_caption()
    {
        var ds = await ImageDataset.OpenAsync(shards.File("img2dataset-snappy.parquet"));
        Assert.True(ds.HasCaptions);
        Assert.Equal("txt", ds.Columns["text"]);
        int i = 0;
        foreach (var c in await ReadAll(ds))
        {
            using (c)
            {
                Assert.Null(c.Problems);
                for (int j = 0; j < c.Count; j++, i++)
                {
                    Assert.Equal(Encoding.ASCII.GetBytes($"jpg-{i}" + new string('x', i % 100)), c.Images[j].ToArray());
                    Assert.Equal($"caption {i}", CaptionText.Of(c, j));
                }
            }
        }
        Assert.Equal(300, i);
    }

    [Fact]
    public async Task Hugging_Face_text_column_gives_captions_and_a_null_or_blank_one_is_a_bad_sample()
    {
        var ds = await ImageDataset.OpenAsync(shards.File("hf-captions.parquet"));
        Assert.True(ds.HasCaptions);
        Assert.True(ds.HasLabels);
        Assert.Equal("text", ds.Columns["text"]);
        int i = 0, bad = 0;
        foreach (var c in await ReadAll(ds))
        {
            using (c)
                for (int j = 0; j < c.Count; j++, i++)
                {
                    Assert.Equal($"img-{i}", Encoding.ASCII.GetString(c.Images[j].Span));
                    Assert.Equal(i % 4, c.Labels[j]);
                    string? expected = HfCaption(i);
                    if (expected is null || string.IsNullOrWhiteSpace(expected))
                    {
                        bad++;
                        Assert.Contains("caption", c.Problems![j]);
                    }
                    else
                    {
                        Assert.Equal(expected, CaptionText.Of(c, j));
                        Assert.Null(c.Problems?[j]);
                    }
                }
        }
        Assert.Equal(120, i);
        Assert.Equal(26, bad); // i % 9 = 5 (null) or 7 (blank) for i < 120: 13 each
    }

    [Fact]
    public async Task Captions_stay_with_their_images_through_the_shuffle_buffer()
    {
        var ds = await ImageDataset.OpenAsync(shards.File("hf-captions.parquet"));
        var plan = new ReadPlan(1, 42, Shuffle: true, HoldoutSplit.None) { ShuffleBufferSamples = 1000, Captions = true };
        var seen = new HashSet<long>();
        foreach (var c in await ReadAll(ds, plan))
        {
            using (c)
                for (int j = 0; j < c.Count; j++)
                {
                    int i = checked((int)c.Indices[j]);
                    Assert.True(seen.Add(i));
                    Assert.Equal($"img-{i}", Encoding.ASCII.GetString(c.Images[j].Span));
                    string? expected = HfCaption(i);
                    if (string.IsNullOrWhiteSpace(expected)) Assert.NotNull(c.Problems?[j]);
                    else Assert.Equal(expected, CaptionText.Of(c, j));
                }
        }
        Assert.Equal(120, seen.Count);
        Assert.NotEqual(Enumerable.Range(0, 120).Select(i => (long)i), seen.Select(i => i)); // actually mixed
    }

    [Fact]
    public async Task A_named_text_column_is_used_and_one_missing_from_the_shard_is_an_error_naming_the_option()
    {
        var ds = await ImageDataset.OpenAsync(shards.File("hf-captions.parquet"), null, null, "description");
        Assert.Equal("description", ds.Columns["text"]);
        int i = 0;
        foreach (var c in await ReadAll(ds))
            using (c)
                for (int j = 0; j < c.Count; j++, i++) Assert.Equal($"desc {i}", CaptionText.Of(c, j));
        Assert.Equal(120, i);

        var error = await Assert.ThrowsAsync<ShardFormatException>(() => ImageDataset.OpenAsync(shards.File("hf-zstd.parquet"), null, null, "text"));
        Assert.Contains("text column 'text' is not in it", error.Message);
        Assert.Contains("Data:TextColumn", error.Message);
    }

    [Fact]
    public async Task Captions_are_read_only_when_the_plan_asks_so_image_only_reads_neither_pay_nor_lose_samples()
    {
        var ds = await ImageDataset.OpenAsync(shards.File("hf-captions.parquet"));
        Assert.True(ds.HasCaptions);
        int n = 0;
        foreach (var c in await ReadAll(ds, new ReadPlan(0, 0, false, HoldoutSplit.None)))
            using (c)
            {
                Assert.Null(c.Captions);
                Assert.Null(c.Problems); // the samples without a caption are good images here
                n += c.Count;
            }
        Assert.Equal(120, n);
    }

    [Fact]
    public async Task Parquet_shards_without_a_caption_column_have_no_captions()
    {
        var ds = await ImageDataset.OpenAsync(shards.File("hf-zstd.parquet"));
        Assert.False(ds.HasCaptions);
        Assert.False(ds.Columns.ContainsKey("text"));
        foreach (var c in await ReadAll(ds)) using (c) Assert.Null(c.Captions);
    }

    [Theory]
    [InlineData(ShardPacker.Format.Parquet)]
    [InlineData(ShardPacker.Format.WebDataset)]
    public async Task Packing_keeps_each_caption_with_its_image_and_a_missing_one_stays_bad(ShardPacker.Format format)
    {
        using var dir = new TempDir();
        var source = await ImageDataset.OpenAsync(shards.File("hf-captions.parquet"));
        var result = await ShardPacker.PackAsync(source, dir.Path, format, shardSizeMb: 0.0005, rowsPerRowGroup: 16, seed: 5);
        Assert.Equal(120, result.Samples);
        Assert.True(result.Shards > 1);

        var packed = await ImageDataset.OpenAsync(dir.Path);
        Assert.True(packed.HasCaptions);
        int read = 0;
        foreach (var c in await ReadAll(packed))
        {
            using (c)
                for (int j = 0; j < c.Count; j++, read++)
                {
                    int i = int.Parse(Encoding.ASCII.GetString(c.Images[j].Span)[4..]); // "img-" + i
                    Assert.Equal($"c{i}", c.Keys![j]);
                    string? expected = HfCaption(i);
                    if (string.IsNullOrWhiteSpace(expected)) Assert.NotNull(c.Problems?[j]);
                    else Assert.Equal(expected, CaptionText.Of(c, j));
                }
        }
        Assert.Equal(120, read);
    }

    private static void AddMember(TarWriter tar, string name, byte[] data) =>
        tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) });

    [Fact]
    public async Task Tar_shards_take_key_txt_as_the_caption_in_either_member_order_and_a_sample_without_one_is_bad()
    {
        using var dir = new TempDir();
        using (var file = File.Create(dir.File("captions.tar")))
        using (var tar = new TarWriter(file, TarEntryFormat.Pax))
        {
            for (int i = 0; i < 40; i++)
            {
                string key = $"s{i:D3}";
                byte[] image = Enumerable.Range(0, 3000 + i).Select(b => (byte)(b + i)).ToArray();
                byte[] caption = Encoding.UTF8.GetBytes($"a naïve caption number {i}");
                if (i % 2 == 0) AddMember(tar, key + ".txt", caption); // before the image: must survive a group that ends at the image
                AddMember(tar, key + ".jpg", image);
                if (i % 2 == 1 && i != 13) AddMember(tar, key + ".txt", i == 21 ? "  \n"u8.ToArray() : caption);
            }
        }

        var ds = await ImageDataset.OpenAsync(dir.Path);
        Assert.Equal("webdataset", ds.Format);
        Assert.True(ds.HasCaptions);
        Assert.Equal("key.txt", ds.Columns["text"]);

        // Small pieces (the byte bound ends groups at images, after a caption that came first) through the shuffle buffer; each
        // chunk is checked and released before the next is read, so a caption left in a released buffer would be overwritten.
        var plan = new ReadPlan(0, 7, Shuffle: true, HoldoutSplit.None) { ShuffleBufferSamples = 40, ShuffleBufferBytes = 20_000, Captions = true };
        var seen = new HashSet<string>();
        await foreach (var c in ds.ReadAsync(plan))
        {
            using (c)
                for (int j = 0; j < c.Count; j++)
                {
                    string key = c.Keys![j]!;
                    int i = int.Parse(key[1..]);
                    Assert.True(seen.Add(key));
                    Assert.Equal(3000 + i, c.Images[j].Length);
                    if (i is 13 or 21)
                        Assert.Contains(i == 13 ? "no caption" : "white space", c.Problems![j]);
                    else
                        Assert.Equal($"a naïve caption number {i}", CaptionText.Of(c, j));
                }
        }
        Assert.Equal(40, seen.Count);
    }

    [Fact]
    public async Task A_caption_read_before_its_image_survives_its_groups_buffers_being_released_and_reused()
    {
        // Every sample's caption comes before its image and each image ends the group by bytes, so the caption in progress must
        // move to the next group's buffers. The consumer releases each group before asking for the next and then, as another
        // shard's reader would, rents every small pooled buffer it can and overwrites it: a caption still pointing into the
        // released group would read the filler.
        var tarBytes = new MemoryStream();
        using (var tar = new TarWriter(tarBytes, TarEntryFormat.Pax, leaveOpen: true))
            for (int i = 0; i < 12; i++)
            {
                AddMember(tar, $"k{i:D2}.txt", Encoding.UTF8.GetBytes($"caption {i} — kept"));
                AddMember(tar, $"k{i:D2}.jpg", Enumerable.Repeat((byte)i, 3000).ToArray());
            }
        tarBytes.Position = 0;

        var reader = new TarShardReader();
        int seen = 0;
        await foreach (var (samples, owner) in reader.ReadAsync(tarBytes, "memory.tar", groupSize: 64, CancellationToken.None, groupBytes: 4000))
        {
            foreach (var s in samples)
            {
                int i = int.Parse(s.Key[1..]);
                Assert.Equal($"caption {i} — kept", Encoding.UTF8.GetString(s.Caption.Span));
                Assert.Equal(3000, s.Image.Length);
                Assert.True(s.Image.Span.IndexOfAnyExcept((byte)i) < 0);
                seen++;
            }
            owner.Dispose();
            var taken = new List<byte[]>();
            for (int k = 0; k < ChunkBufferPool.MaxPerClass; k++)
            {
                var b = ChunkBufferPool.Rent(100); // the smallest class, where captions and these images live
                b.AsSpan().Fill((byte)'#');
                taken.Add(b);
            }
            foreach (var b in taken) ChunkBufferPool.Return(b);
        }
        Assert.Equal(12, seen);
    }

    [Fact]
    public async Task Image_folders_take_a_txt_sidecar_with_the_images_stem_and_an_image_without_one_is_bad()
    {
        using var dir = new TempDir();
        foreach (var cls in new[] { "circle", "square" })
        {
            Directory.CreateDirectory(dir.File(cls));
            for (int i = 0; i < 6; i++)
            {
                string stem = Path.Combine(dir.File(cls), $"{cls}{i}");
                File.WriteAllBytes(stem + ".png", Encoding.ASCII.GetBytes($"png {cls} {i}"));
                if (!(cls == "square" && i == 4)) File.WriteAllText(stem + ".txt", $"a {cls} drawn number {i}\n");
            }
        }
        File.WriteAllText(dir.File("circle/notes.txt"), "a text file that belongs to no image");

        var ds = await ImageDataset.OpenAsync(dir.Path);
        Assert.Equal("imagefolder", ds.Format);
        Assert.True(ds.HasCaptions);
        Assert.Equal(12, ds.SampleCount); // the stray .txt is neither an image nor a caption
        int read = 0;
        foreach (var c in await ReadAll(ds))
        {
            using (c)
                for (int j = 0; j < c.Count; j++, read++)
                {
                    var parts = Encoding.ASCII.GetString(c.Images[j].Span).Split(' ');
                    if (parts[1] == "square" && parts[2] == "4")
                        Assert.Contains("no caption", c.Problems![j]);
                    else
                        Assert.Equal($"a {parts[1]} drawn number {parts[2]}\n", CaptionText.Of(c, j));
                }
        }
        Assert.Equal(12, read);
        foreach (var c in await ReadAll(ds, new ReadPlan(0, 0, false, HoldoutSplit.None))) using (c) { Assert.Null(c.Captions); Assert.Null(c.Problems); }

        // The same folder without any sidecar has no captions.
        foreach (var f in Directory.GetFiles(dir.Path, "*.txt", SearchOption.AllDirectories)) File.Delete(f);
        var plain = await ImageDataset.OpenAsync(dir.Path);
        Assert.False(plain.HasCaptions);
        foreach (var c in await ReadAll(plain)) using (c) { Assert.Null(c.Captions); Assert.Null(c.Problems); }
    }

    [Theory]
    [InlineData("", true)]
    [InlineData(" \t\r\n", true)]
    [InlineData("\u00a0\u2003", true)]
    [InlineData(" a ", false)]
    [InlineData("café", false)]
    public void Blank_captions_are_told_apart_from_text(string caption, bool blank) =>
        Assert.Equal(blank, CaptionText.IsBlank(Encoding.UTF8.GetBytes(caption)));
}
