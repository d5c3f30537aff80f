using System.Formats.Tar;
using System.IO.Compression;
using System.Text;

namespace Contrastive.Ingest.Tests;

/// <summary>Tar shards written by System.Formats.Tar (an independent writer) in ustar, PAX and GNU formats.</summary>
public class WebDatasetTests
{
    private static byte[] Img(int i) => Enumerable.Range(0, 50 + i * 37 % 900).Select(b => (byte)(b * 7 + i)).ToArray();

    private static void WriteShard(string path, TarEntryFormat format, int first, int count, bool gzip, string prefix = "")
    {
        using var file = File.Create(path);
        using Stream target = gzip ? new GZipStream(file, CompressionLevel.Fastest) : file;
        using var tar = new TarWriter(target, format, leaveOpen: true);
        var dirEntry = format switch
        {
            TarEntryFormat.Pax => (TarEntry)new PaxTarEntry(TarEntryType.Directory, prefix + "dir/"),
            TarEntryFormat.Gnu => new GnuTarEntry(TarEntryType.Directory, prefix + "dir/"),
            _ => new UstarTarEntry(TarEntryType.Directory, prefix + "dir/"),
        };
        tar.WriteEntry(dirEntry);
        for (int i = first; i < first + count; i++)
        {
            string key = $"{prefix}s{i:D5}";
            Add(tar, format, key + ".jpg", Img(i));
            Add(tar, format, key + ".cls", Encoding.ASCII.GetBytes((i % 4).ToString()));
            Add(tar, format, key + ".txt", Encoding.ASCII.GetBytes($"caption {i}"));
        }
        Add(tar, format, $"{prefix}lonely.txt", Encoding.ASCII.GetBytes("a sample without an image"));
    }

    private static void Add(TarWriter tar, TarEntryFormat format, string name, byte[] data)
    {
        TarEntry e = format switch
        {
            TarEntryFormat.Pax => new PaxTarEntry(TarEntryType.RegularFile, name),
            TarEntryFormat.Gnu => new GnuTarEntry(TarEntryType.RegularFile, name),
            _ => new UstarTarEntry(TarEntryType.RegularFile, name),
        };
        e.DataStream = new MemoryStream(data);
        tar.WriteEntry(e);
    }

    [Fact]
    public async Task Shards_in_every_tar_format_read_as_samples_grouped_by_key()
    {
        using var dir = new TempDir();
        string longPrefix = new string('p', 120) + "/"; // past ustar's 100-byte name: PAX records and GNU 'L' entries
        WriteShard(dir.File("a.tar"), TarEntryFormat.Ustar, 0, 150, gzip: false);
        WriteShard(dir.File("b.tar.gz"), TarEntryFormat.Pax, 150, 70, gzip: true, prefix: longPrefix);
        WriteShard(dir.File("c.tgz"), TarEntryFormat.Gnu, 220, 30, gzip: true, prefix: longPrefix);

        var ds = await ImageDataset.OpenAsync(dir.Path);
        Assert.Equal("webdataset", ds.Format);
        Assert.Equal(3, ds.ShardCount);
        Assert.True(ds.HasLabels);

        var seen = new Dictionary<string, (long Label, byte[] Bytes, long Index)>();
        await foreach (var c in ds.ReadAsync(new ReadPlan(0, 0, false, HoldoutSplit.None)))
            using (c)
                for (int i = 0; i < c.Count; i++) seen[c.Keys![i]!] = (c.Labels[i], c.Images[i].ToArray(), c.Indices[i]);

        Assert.Equal(250 + 2, seen.Count); // 250 samples and the image-less ones: "lonely" (a) and the long-prefixed one (b and c share its key)
        for (int i = 0; i < 250; i++)
        {
            string key = (i < 150 ? "" : longPrefix) + $"s{i:D5}";
            Assert.True(seen.TryGetValue(key, out var s), key);
            Assert.Equal(i % 4, s.Label);
            Assert.Equal(Img(i), s.Bytes);
        }
        Assert.Empty(seen["lonely"].Bytes);
        Assert.Equal(Sample.NoLabel, seen["lonely"].Label);
        Assert.Equal((1L << 32) + 0, seen[longPrefix + "s00150"].Index); // shard 1, position 0
    }

    [Fact]
    public async Task Shuffled_epochs_and_ranks_cover_every_sample_once()
    {
        using var dir = new TempDir();
        for (int s = 0; s < 5; s++) WriteShard(dir.File($"shard-{s}.tar"), TarEntryFormat.Ustar, s * 40, 40, gzip: false);
        var ds = await ImageDataset.OpenAsync(Path.Combine(dir.Path, "shard-*.tar"));
        var all = new List<long>();
        for (int rank = 0; rank < 2; rank++)
            await foreach (var c in ds.ReadAsync(new ReadPlan(3, 1, true, HoldoutSplit.None, Rank: rank, WorldSize: 2)))
                using (c) all.AddRange(c.Indices);
        Assert.Equal(200 + 5, all.Count);                 // 40 samples and one image-less sample per shard
        Assert.Equal(all.Count, all.Distinct().Count());  // no sample twice
        Assert.Equal(5, all.Select(i => i >> 32).Distinct().Count());
    }

    [Fact]
    public async Task A_truncated_shard_is_an_error_naming_it()
    {
        using var dir = new TempDir();
        string path = dir.File("t.tar");
        WriteShard(path, TarEntryFormat.Ustar, 0, 20, gzip: false);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2 + 100)]);
        var ds = await ImageDataset.OpenAsync(path);
        var e = await Assert.ThrowsAsync<ShardFormatException>(async () =>
        {
            await foreach (var c in ds.ReadAsync(new ReadPlan(0, 0, false, HoldoutSplit.None))) c.Dispose();
        });
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public async Task A_file_that_is_not_a_tar_is_an_error_naming_it()
    {
        using var dir = new TempDir();
        string path = dir.File("junk.tar");
        File.WriteAllBytes(path, Enumerable.Range(0, 2048).Select(i => (byte)(i * 13)).ToArray());
        var e = await Assert.ThrowsAsync<ShardFormatException>(() => ImageDataset.OpenAsync(path));
        Assert.Contains(path, e.Message);
    }

    [Theory]
    [InlineData("a/b/key.jpg", "a/b/key", "jpg")]
    [InlineData("a.b/key.seg.JPG", "a.b/key", "seg.jpg")]
    [InlineData("noext", "noext", "")]
    public void Key_is_the_path_up_to_the_first_dot_of_the_file_name(string name, string key, string ext)
    {
        Assert.Equal((key, ext), TarShardReader.SplitName(name));
    }
}
