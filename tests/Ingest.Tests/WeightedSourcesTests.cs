using System.Text.Json;

namespace Contrastive.Ingest.Tests;

/// <summary>
/// Weighted sources: every stretch of the mixed stream holds each source's weight, each source is read in whole epochs
/// of its own (a small source again and again), and a cursor taken at any sample resumes the mix exactly.
/// </summary>
public class WeightedSourcesTests
{
    private const int ParquetSamples = 300;

    private sealed record Taken(int Source, long Index, int SourceEpoch, int MixEpoch, ReadCursor Cursor);

    /// <summary>A Parquet source of 300 samples (3 shards) and a tar source of 640 (20 shards, class by class).</summary>
    private static async Task<WeightedDataset> Mix(TempDir dir, TempDir tarDir, double a, double b)
    {
        var parquet = Directory.CreateDirectory(dir.File("a")).FullName;
        for (int f = 0; f < 3; f++)
        {
            var rows = Enumerable.Range(f * 100, 100).Select(i => new ImageRow(ShuffleBufferTests.Bytes(i), $"a/{i}.jpg", i % 4)).ToList();
            await ParquetImageShardWriter.WriteAsync(Path.Combine(parquet, $"part-{f}.parquet"), rows, rowsPerRowGroup: 30);
        }
        var tar = await ShuffleBufferTests.SortedTar(tarDir, chunkSize: 16);
        return new WeightedDataset([(await ParquetImageDataset.OpenAsync(parquet), a), (tar, b)]);
    }

    /// <summary>Each source's sample indices: Parquet's run on across shards, a tar shard's are (shard × 2³² + position).</summary>
    private static readonly long[][] SourceIndices =
    [
        [.. Enumerable.Range(0, ParquetSamples).Select(i => (long)i)],
        [.. Enumerable.Range(0, ShuffleBufferTests.Classes).SelectMany(c => Enumerable.Range(0, ShuffleBufferTests.PerClass).Select(k => ((long)c << 32) + k))],
    ];

    private static ReadPlan Plan => new(0, 17, Shuffle: true, HoldoutSplit.None) { ShuffleBufferSamples = 100 };

    private static async Task<List<Taken>> Take(WeightedDataset mix, int count, ReadCursor? from = null)
    {
        var taken = new List<Taken>(count);
        await foreach (var chunk in mix.ReadEpochsAsync(e => Plan with { Epoch = e }, from: from))
            using (chunk)
            {
                for (int i = 0; i < chunk.Count && taken.Count < count; i++)
                {
                    var (source, index) = WeightedDataset.SourceOf(chunk.Indices[i]);
                    Assert.Equal(source, chunk.Mix!.SourceOf(i));
                    taken.Add(new Taken(source, index, chunk.EpochOf(i), chunk.Epoch, chunk.CursorAt(i)));
                }
                if (taken.Count == count) break;
            }
        return taken;
    }

    [Fact]
    public async Task Every_stretch_holds_the_weights_and_each_source_is_read_in_whole_epochs_of_its_own()
    {
        using var dir = new TempDir();
        using var tarDir = new TempDir();
        var mix = await Mix(dir, tarDir, 7, 3); // weights normalised: 0.7 and 0.3
        Assert.Equal([0.7, 0.3], mix.Weights.Select(w => Math.Round(w, 12)));
        var taken = await Take(mix, 10_000);

        // Over 10,000 samples each source's share is its weight to within a sample, and so is every batch of 256.
        Assert.InRange(taken.Count(t => t.Source == 0), 6_999, 7_001);
        for (int start = 0; start + 256 <= taken.Count; start += 256)
            Assert.InRange(taken.Skip(start).Take(256).Count(t => t.Source == 0), 0.7 * 256 - 1, 0.7 * 256 + 1);

        // Each source runs through its own epochs: every complete epoch of a source holds each of its samples once.
        foreach (int source in new[] { 0, 1 })
        {
            var mine = taken.Where(t => t.Source == source).ToList();
            var epochs = mine.GroupBy(t => t.SourceEpoch).OrderBy(g => g.Key).ToList();
            Assert.Equal(Enumerable.Range(0, epochs.Count), epochs.Select(g => g.Key)); // in order, none skipped
            Assert.Equal(mine.Select(t => t.SourceEpoch).Order(), mine.Select(t => t.SourceEpoch)); // never back
            foreach (var epoch in epochs.SkipLast(1))
                Assert.Equal(SourceIndices[source], epoch.Select(t => t.Index).Order());
            Assert.True(epochs.Count >= (source == 0 ? 23 : 4), $"source {source}: {epochs.Count} epochs"); // the small source is read again and again
            // The samples are shuffled within the source's epoch: not in stored order.
            Assert.NotEqual(SourceIndices[source], epochs[0].Select(t => t.Index));
        }
        // The mix's epoch is the lowest of its sources': the tar source's, here.
        Assert.Equal(taken.Select(t => t.MixEpoch).Order(), taken.Select(t => t.MixEpoch));
        int tarEpoch = taken.Where(t => t.Source == 1).Max(t => t.SourceEpoch);
        Assert.InRange(taken[^1].MixEpoch, tarEpoch - 1, tarEpoch);
    }

    [Fact]
    public async Task A_cursor_taken_at_any_sample_resumes_the_mix_exactly()
    {
        using var dir = new TempDir();
        using var tarDir = new TempDir();
        var mix = await Mix(dir, tarDir, 0.6, 0.4);
        var all = await Take(mix, 2_400);
        Assert.Equal(all.Count, all.Select(t => t.Cursor).Distinct().Count()); // a cursor names one sample
        foreach (int at in new[] { 0, 1, 127, 128, 901, 1_777, 2_399 })
        {
            // The cursor goes through JSON, as a checkpoint keeps it.
            var cursor = JsonSerializer.Deserialize<ReadCursor>(JsonSerializer.Serialize(all[at].Cursor));
            Assert.Equal(all[at].Cursor, cursor);
            var rest = await Take(mix, all.Count - at, cursor);
            Assert.Equal(all.Skip(at).Select(t => (t.Source, t.Index, t.SourceEpoch)), rest.Select(t => (t.Source, t.Index, t.SourceEpoch)));
            Assert.Equal(all.Skip(at).Select(t => t.Cursor), rest.Select(t => t.Cursor));
        }
        // What the cursor says was taken from each source.
        var mid = all[1_000].Cursor.Mix!;
        Assert.Equal(all.Take(1_000).Count(t => t.Source == 0), mid.Picks[0]);
        Assert.Equal(1_000, mid.Total);
    }

    [Fact]
    public async Task New_weights_on_a_resume_hold_from_the_resume_on_and_resume_exactly_again()
    {
        using var dir = new TempDir();
        using var tarDir = new TempDir();
        var first = await Mix(dir, tarDir, 0.7, 0.3);
        var before = await Take(first, 1_000);
        var cursor = before[^1].Cursor; // 999 samples taken under 0.7 / 0.3
        // The same sources under 0.2 / 0.8: every batch after the resume holds the new shares, not a catch-up on the whole run.
        var second = new WeightedDataset([(first.Sources[0], 0.2), (first.Sources[1], 0.8)]);
        var after = await Take(second, 2_000, cursor);
        for (int start = 0; start + 250 <= after.Count; start += 250)
            Assert.InRange(after.Skip(start).Take(250).Count(t => t.Source == 0), 0.2 * 250 - 1, 0.2 * 250 + 1);
        var mix = after[1_000].Cursor.Mix!;
        Assert.Equal(cursor.Mix!.Picks, mix.Since); // counted from the change
        Assert.Equal(999 + 1_000, mix.Total);
        // A cursor taken under the new weights resumes exactly (the change point travels with it).
        var again = await Take(second, 999, after[1_000].Cursor);
        Assert.Equal(after.Skip(1_000).Take(999).Select(t => (t.Source, t.Index)), again.Select(t => (t.Source, t.Index)));
    }

    [Fact]
    public async Task A_cursor_of_one_source_is_refused_by_a_mix_and_the_reverse()
    {
        using var dir = new TempDir();
        using var tarDir = new TempDir();
        var mix = await Mix(dir, tarDir, 1, 1);
        var plain = new ReadCursor(0, 2, 5);
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => Take(mix, 10, plain));
        Assert.Contains("in one data source; this run mixes 2 weighted sources", e.Message, StringComparison.Ordinal);
        var mixed = (await Take(mix, 50))[^1].Cursor;
        var e2 = await Assert.ThrowsAsync<InvalidDataException>(async () =>
        {
            await foreach (var c in mix.Sources[0].ReadEpochsAsync(x => Plan with { Epoch = x }, from: mixed)) c.Dispose();
        });
        Assert.Contains("in a mix of 2 weighted sources; this run reads one", e2.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new WeightedDataset([(mix.Sources[0], 1), (mix.Sources[1], 0)]));
    }

    [Fact]
    public async Task Read_for_evaluation_the_sources_come_one_after_the_other_with_their_split()
    {
        using var dir = new TempDir();
        using var tarDir = new TempDir();
        var mix = await Mix(dir, tarDir, 0.7, 0.3);
        var split = new HoldoutSplit(0.25);
        var heldOut = new List<long>();
        await foreach (var c in mix.ReadAsync(new ReadPlan(0, 1, Shuffle: false, split, HeldOut: true)))
            using (c) heldOut.AddRange(c.Indices);
        var expected = SourceIndices[0].Where(split.IsHeldOut).Select(i => WeightedDataset.IndexOf(0, i))
            .Concat(SourceIndices[1].Where(split.IsHeldOut).Select(i => WeightedDataset.IndexOf(1, i)));
        Assert.Equal(expected.Order(), heldOut.Order());
    }
}
