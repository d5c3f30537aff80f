using System.Formats.Tar;
using System.Text;

namespace Contrastive.Ingest.Tests;

/// <summary>
/// Tar shards resume by seeking: pack writes a sidecar index (NAME.tar.idx) whose pieces are the reader's, and a resumed
/// shard (or mixing group) starts at the cursor's piece (round). Proof that nothing before it is read: every byte before it
/// is overwritten, and the resume still yields exactly the rest (without the index, the same resume fails on those bytes).
/// </summary>
public class TarSeekTests
{
    /// <summary>A tar of <paramref name="n"/> samples with varied image sizes, captions before or after the image, labels, long names.</summary>
    private static void WriteVariedTar(string path, int n)
    {
        using var file = File.Create(path);
        using var tar = new TarWriter(file, TarEntryFormat.Pax);
        void Add(string name, byte[] data) => tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) });
        for (int i = 0; i < n; i++)
        {
            string key = i % 9 == 0 ? $"{new string('d', 120)}/s{i:D4}" : $"s{i:D4}";
            var image = Enumerable.Range(0, 100 + i * 37 % 900).Select(b => (byte)(b * i)).ToArray();
            var caption = Encoding.UTF8.GetBytes(new string('w', i * 13 % 300));
            if (i % 3 == 0) Add($"{key}.txt", caption);
            Add($"{key}.jpg", image);
            Add($"{key}.cls", Encoding.ASCII.GetBytes((i % 5).ToString()));
            if (i % 3 == 1) Add($"{key}.txt", caption);
        }
    }

    [Fact]
    public async Task The_index_cuts_pieces_where_the_reader_does_and_each_sample_starts_at_its_offset()
    {
        using var dir = new TempDir();
        string path = dir.File("varied.tar");
        WriteVariedTar(path, 120);
        await TarIndex.WriteAsync(path);
        var index = TarIndex.Parse(File.ReadAllBytes(path + TarIndex.Extension))!;
        Assert.Equal(new FileInfo(path).Length, index.TarLength);
        Assert.Equal(120, index.Entries.Count);
        foreach (var (size, bytes) in new[] { (16, long.MaxValue), (7, 3000L), (100, 1500L), (5, 200L) })
        {
            var starts = new List<int>();
            int seen = 0;
            await using (var stream = File.OpenRead(path))
                await foreach (var (samples, owner) in new TarShardReader().ReadAsync(stream, path, size, default, bytes))
                {
                    starts.Add(seen);
                    seen += samples.Count;
                    owner.Dispose();
                }
            Assert.Equal(starts, index.Pieces(size, bytes));
        }
        // Reading from a sample's offset yields that sample first, with its own key (a long name's extended header included).
        foreach (int i in new[] { 1, 9, 10, 63, 119 })
        {
            await using var stream = File.OpenRead(path);
            stream.Seek(index.Entries[i].Offset, SeekOrigin.Begin);
            await foreach (var (samples, owner) in new TarShardReader().ReadAsync(stream, path, 1, default))
            {
                Assert.EndsWith($"s{i:D4}", samples[0].Key, StringComparison.Ordinal);
                owner.Dispose();
                break;
            }
        }
    }

    private sealed record Item(string Shard, string Key, ReadCursor Cursor);

    private static async Task<List<Item>> Sequence(IImageDataset ds, ReadPlan plan)
    {
        var list = new List<Item>();
        await foreach (var c in ds.ReadAsync(plan))
            using (c)
                for (int i = 0; i < c.Count; i++) list.Add(new Item(c.ShardOf(i), c.Keys![i]!, c.CursorAt(i)));
        return list;
    }

    [Fact]
    public async Task A_resumed_tar_shard_or_mixing_group_reads_no_byte_before_the_cursors_piece()
    {
        using var source = new TempDir();
        var rows = Enumerable.Range(0, 400).Select(i => new ImageRow(ShuffleBufferTests.Bytes(i), $"img{i:D4}.jpg", i % 10)).ToList();
        await ParquetImageShardWriter.WriteAsync(source.File("all.parquet"), rows, rowsPerRowGroup: 50);
        var plans = new[]
        {
            new ReadPlan(0, 9, Shuffle: true, HoldoutSplit.None) { ShuffleBufferSamples = 0 }, // one shard at a time, pieces of 16
            new ReadPlan(1, 9, Shuffle: true, new HoldoutSplit(0.2)) { ShuffleBufferSamples = 64, ShuffleBufferBytes = 8192 }, // groups of 4, pieces cut by bytes
        };
        foreach (var plan in plans)
            foreach (double where in new[] { 0.3, 0.55, 0.8 })
            {
                using var dir = new TempDir();
                var packed = await ShardPacker.PackAsync(await ParquetImageDataset.OpenAsync(source.Path), dir.Path, ShardPacker.Format.WebDataset, shardSizeMb: 0.015, shuffle: false);
                Assert.True(packed.Shards >= 8, $"{packed.Shards} shards");
                Assert.All(Directory.GetFiles(dir.Path, "*.tar"), t => Assert.True(File.Exists(t + TarIndex.Extension), $"no index beside {t}"));
                var ds = await WebDataset.OpenAsync(dir.Path, chunkSize: 16);
                var all = await Sequence(ds, plan);
                long pieceBytes = plan.Mixes ? ds.PieceBytes(plan) : long.MaxValue;
                var indexes = Directory.GetFiles(dir.Path, "*.tar").ToDictionary(s => s, s => TarIndex.Parse(File.ReadAllBytes(s + TarIndex.Extension))!);
                var positions = Directory.GetFiles(dir.Path, "*.tar").SelectMany(KeyPositions).ToDictionary(p => p.Key, p => p.Position);
                int PieceOf(Item x) => indexes[x.Shard].Pieces(16, pieceBytes).FindLastIndex(s => s <= positions[x.Key]);

                // A cursor past the first piece (round) of its unit (group), from `where` on: the shards of that unit, and the
                // first piece of theirs that holds a sample at or after the cursor.
                int at = (int)(all.Count * where), round = 0;
                List<string> group = [];
                for (; at < all.Count; at++)
                {
                    var c = all[at].Cursor;
                    group = all.Where(x => x.Cursor.Epoch == c.Epoch && x.Cursor.Unit == c.Unit).Select(x => x.Shard).Distinct().ToList();
                    round = all.Skip(at).Where(x => group.Contains(x.Shard)).Min(PieceOf);
                    if (round > 0) break;
                }
                Assert.True(at < all.Count, "no cursor past a first piece");
                var cursor = all[at].Cursor;
                var expected = all.Skip(at).Select(x => x.Key).ToList();
                long overwritten = 0;
                foreach (var shard in group)
                {
                    var index = indexes[shard];
                    var starts = index.Pieces(16, pieceBytes);
                    long end = round < starts.Count ? index.Entries[starts[round]].Offset : index.TarLength; // a shard done before that round: all of it
                    using var f = new FileStream(shard, FileMode.Open, FileAccess.Write);
                    f.Write(Enumerable.Repeat((byte)0xA5, (int)end).ToArray());
                    overwritten += end;
                }
                Assert.True(overwritten > 0);

                var rest = await Sequence(ds, plan with { From = cursor });
                Assert.Equal(expected, rest.Select(x => x.Key));

                // Without the indexes the same resume reads from the shards' start, and meets the overwritten bytes.
                foreach (var idx in Directory.GetFiles(dir.Path, "*" + TarIndex.Extension)) File.Delete(idx);
                await Assert.ThrowsAsync<ShardFormatException>(() => Sequence(ds, plan with { From = cursor }));
            }
    }

    /// <summary>Each sample's key in a shard with its position there.</summary>
    private static IEnumerable<(string Key, int Position)> KeyPositions(string shard)
    {
        using var stream = File.OpenRead(shard);
        var reader = new TarReader(stream);
        var list = new List<(string, int)>();
        string? last = null;
        while (reader.GetNextEntry() is { } e)
        {
            var (memberKey, _) = TarShardReader.SplitName(e.Name);
            if (memberKey == last) continue;
            list.Add((memberKey, list.Count));
            last = memberKey;
        }
        return list;
    }
}
