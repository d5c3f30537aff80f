namespace Contrastive.Ingest.Tests;

public class ImageFolderTests
{
    private static void Put(TempDir dir, string relative, params byte[] bytes)
    {
        string path = Path.Combine(dir.Path, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
    }

    private static async Task<List<(long Index, long Label, string Key, byte[] Bytes)>> ReadAll(IImageDataset ds, ReadPlan plan)
    {
        var list = new List<(long, long, string, byte[])>();
        await foreach (var c in ds.ReadAsync(plan))
            using (c)
                for (int i = 0; i < c.Count; i++) list.Add((c.Indices[i], c.Labels[i], c.Keys![i]!, c.Images[i].ToArray()));
        return list;
    }

    [Fact]
    public async Task Class_folders_give_labels_in_sorted_name_order()
    {
        using var dir = new TempDir();
        Put(dir, "zebra/b.jpg", 1, 2);
        Put(dir, "zebra/a.PNG", 3);
        Put(dir, "ant/x.webp", 4, 5, 6);
        Put(dir, "ant/deep/y.jpeg", 7);
        Put(dir, "ant/notes.txt", 9);       // not an image: ignored
        Put(dir, ".hidden/z.jpg", 8);        // hidden: ignored

        var ds = await ImageDataset.OpenAsync(dir.Path);
        Assert.Equal("imagefolder", ds.Format);
        Assert.True(ds.HasLabels);
        Assert.Equal(new[] { "ant", "zebra" }, ds.ClassNames);
        Assert.Equal(4, ds.SampleCount);

        var all = await ReadAll(ds, new ReadPlan(0, 0, false, HoldoutSplit.None));
        Assert.Equal(new[] { "ant/deep/y.jpeg", "ant/x.webp", "zebra/a.PNG", "zebra/b.jpg" }, all.Select(s => s.Key));
        Assert.Equal(new long[] { 0, 0, 1, 1 }, all.Select(s => s.Label));
        Assert.Equal(new long[] { 0, 1, 2, 3 }, all.Select(s => s.Index));
        Assert.Equal(new byte[] { 4, 5, 6 }, all[1].Bytes);
    }

    [Fact]
    public async Task Flat_folder_has_no_labels_and_shuffles_deterministically()
    {
        using var dir = new TempDir();
        for (int i = 0; i < 250; i++) Put(dir, $"img{i:D3}.jpg", (byte)i);
        var ds = ImageFolderDataset.Open(dir.Path, dir.Path, chunkSize: 40);
        Assert.False(ds.HasLabels);
        var a = await ReadAll(ds, new ReadPlan(1, 5, true, HoldoutSplit.None));
        var b = await ReadAll(ds, new ReadPlan(1, 5, true, HoldoutSplit.None));
        Assert.Equal(a.Select(s => s.Index), b.Select(s => s.Index));
        Assert.Equal(Enumerable.Range(0, 250).Select(i => (long)i), a.Select(s => s.Index).Order());
        Assert.All(a, s => { Assert.Equal(Sample.NoLabel, s.Label); Assert.Equal((byte)s.Index, s.Bytes[0]); });
    }

    [Fact]
    public async Task Symbolic_links_read_their_targets_bytes_and_a_dangling_link_is_a_bad_sample_named_by_its_path()
    {
        using var store = new TempDir(); // the real files, elsewhere
        var targets = new Dictionary<string, byte[]>();
        for (int i = 0; i < 6; i++)
        {
            var bytes = Enumerable.Range(0, 3000 + i * 40_000).Select(b => (byte)(b * 31 + i)).ToArray(); // up to 200 KB: far longer than a link
            targets[$"t{i}.jpg"] = bytes;
            Put(store, $"t{i}.jpg", bytes);
        }
        Put(store, "dir/d0.png", 9, 8, 7);
        Directory.CreateSymbolicLink(store.File("dir/back"), store.Path); // a cycle once walked through the link below

        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("cat"));
        for (int i = 0; i < 4; i++) File.CreateSymbolicLink(dir.File($"cat/l{i}.jpg"), store.File($"t{i}.jpg"));
        File.CreateSymbolicLink(dir.File("cat/gone.jpg"), store.File("missing.jpg"));
        Directory.CreateSymbolicLink(dir.File("cat/more"), store.File("dir"));  // a link to a directory of images
        Directory.CreateSymbolicLink(dir.File("dog"), store.Path);              // a class folder that is a link
        var ds = ImageFolderDataset.Open(dir.Path, dir.Path, chunkSize: 4);
        Assert.Equal(new[] { "cat", "dog" }, ds.ClassNames);

        var keys = new List<string>();
        int bad = 0;
        foreach (bool shuffle in new[] { false, true })
        {
            keys.Clear();
            bad = 0;
            await foreach (var c in ds.ReadAsync(new ReadPlan(0, 3, shuffle, HoldoutSplit.None)))
                using (c)
                    for (int i = 0; i < c.Count; i++)
                    {
                        string key = c.Keys![i]!;
                        keys.Add(key);
                        if (key == "cat/gone.jpg")
                        {
                            bad++;
                            Assert.True(c.Images[i].IsEmpty);
                            Assert.Contains(dir.File("cat/gone.jpg"), c.Problems![i]);
                            Assert.Contains("does not exist", c.Problems![i]);
                            Assert.Contains("cat/gone.jpg", c.Describe(i));
                            continue;
                        }
                        Assert.Null(c.Problems?[i]);
                        string name = Path.GetFileName(key).Replace('l', 't'); // cat/l{i}.jpg links to t{i}.jpg
                        Assert.Equal(name == "d0.png" ? new byte[] { 9, 8, 7 } : targets[name], c.Images[i].ToArray());
                    }
        }
        Assert.Equal(1, bad);
        // Each real directory is walked once per class, so the cycle ends: in dog, dir/back leads to the store already
        // walked; in cat, more (the store's dir) -> back (the store, new) -> dir (walked).
        var store6 = Enumerable.Range(0, 6).Select(i => $"t{i}.jpg").ToList();
        var expected = new[] { "cat/gone.jpg", "cat/l0.jpg", "cat/l1.jpg", "cat/l2.jpg", "cat/l3.jpg", "cat/more/d0.png", "dog/dir/d0.png" }
            .Concat(store6.Select(t => "cat/more/back/" + t)).Concat(store6.Select(t => "dog/" + t)).Order(StringComparer.Ordinal);
        Assert.Equal(expected, keys.Order(StringComparer.Ordinal));
        Assert.Equal(19, ds.SampleCount); // the dangling link counts as a sample
        Assert.True(ImageFolderDataset.HasImages(dir.Path));
    }

    [Fact]
    public async Task Mixed_layout_and_empty_folders_are_clear_errors()
    {
        using var dir = new TempDir();
        Put(dir, "loose.jpg", 1);
        Put(dir, "cat/a.jpg", 2);
        var e = await Assert.ThrowsAsync<DataSourceException>(() => ImageDataset.OpenAsync(dir.Path));
        Assert.Contains("loose.jpg", e.Message);
        Assert.Contains("class folder", e.Message);

        using var empty = new TempDir();
        Put(empty, "readme.txt", 1);
        var e2 = await Assert.ThrowsAsync<DataSourceException>(() => ImageDataset.OpenAsync(empty.Path));
        Assert.Contains("neither", e2.Message);
    }

    [Fact]
    public async Task A_directory_with_parquet_shards_opens_as_parquet()
    {
        using var dir = new TempDir();
        await ParquetImageShardWriter.WriteAsync(dir.File("a.parquet"), [new ImageRow([1, 2], "k", 3)]);
        var ds = await ImageDataset.OpenAsync(dir.Path);
        Assert.Equal("parquet", ds.Format);
        Assert.Equal("image.bytes", ds.Columns["image"]);
        Assert.Equal("label", ds.Columns["label"]);
        Assert.Equal("image.path", ds.Columns["key"]);
    }
}

public class RankSplitTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    public async Task Ranks_read_disjoint_samples_that_together_cover_the_epoch(int world)
    {
        using var dir = new TempDir();
        // Uneven: 3 shards of 230, 100 and 45 rows, row groups of 50.
        int offset = 0;
        foreach (var (name, n) in new[] { ("a", 230), ("b", 100), ("c", 45) })
        {
            var rows = Enumerable.Range(offset, n).Select(i => new ImageRow([(byte)i], $"k{i}", 0)).ToArray();
            await ParquetImageShardWriter.WriteAsync(dir.File(name + ".parquet"), rows, rowsPerRowGroup: 50);
            offset += n;
        }
        var ds = await ImageDataset.OpenAsync(dir.Path);
        foreach (int epoch in new[] { 0, 1 })
        {
            var seen = new List<long>();
            var perRank = new List<int>();
            for (int rank = 0; rank < world; rank++)
            {
                int chunks = 0;
                await foreach (var c in ds.ReadAsync(new ReadPlan(epoch, 9, true, HoldoutSplit.None, Rank: rank, WorldSize: world)))
                    using (c) { seen.AddRange(c.Indices); chunks++; }
                perRank.Add(chunks);
            }
            Assert.Equal(Enumerable.Range(0, 375).Select(i => (long)i), seen.Order());   // every sample once, none twice
            Assert.True(perRank.Max() - perRank.Min() <= 1, string.Join(",", perRank));  // row groups: within one of each other
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReadPlan(0, 0, false, HoldoutSplit.None, Rank: 3, WorldSize: 3).IsMine(0));
    }
}

public class DatasetEpochsTests
{
    [Fact]
    public async Task Epochs_follow_each_other_and_an_empty_epoch_is_an_error_not_a_spin()
    {
        using var dir = new TempDir();
        await ParquetImageShardWriter.WriteAsync(dir.File("a.parquet"), Enumerable.Range(0, 30).Select(i => new ImageRow([(byte)i], $"k{i}", 0)).ToArray(), 10);
        var ds = await ImageDataset.OpenAsync(dir.Path);

        var started = new List<int>();
        var epochs = new List<int>();
        await foreach (var c in ds.ReadEpochsAsync(e => new ReadPlan(e, 1, true, HoldoutSplit.None), firstEpoch: 4, started.Add))
        {
            using (c) epochs.Add(c.Epoch);
            if (epochs.Count == 7) break;
        }
        Assert.Equal(new[] { 4, 4, 4, 5, 5, 5, 6 }, epochs);
        Assert.Equal(new[] { 4, 5, 6 }, started);

        // Three row groups dealt over five ranks: rank 4 gets none.
        var e = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await foreach (var c in ds.ReadEpochsAsync(ep => new ReadPlan(ep, 1, true, HoldoutSplit.None, Rank: 4, WorldSize: 5))) c.Dispose();
        });
        Assert.Contains(dir.Path, e.Message);
        Assert.Contains("rank 4 of 5", e.Message);
    }
}
