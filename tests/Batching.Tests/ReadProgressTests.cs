using Contrastive.Ingest;

namespace Contrastive.Batching.Tests;

public class ReadProgressTests
{
    private static SampleChunk Chunk(string shard, int part, int n) =>
        new(shard, part, 0, new byte[]?[n], new long[n], Enumerable.Range(part * 100, n).Select(i => (long)i).ToArray(), null) { Unit = part };

    [Fact]
    public void Skip_counts_per_shard_stay_exact_for_recent_batches_while_older_runs_are_folded_into_totals()
    {
        var progress = new ReadProgress(retain: 2);
        var published = BatchAssembler.Open.Done();
        var counts = new List<long>();
        // Shard A: samples 0-2 bad, 3 in a batch; then 4 bad, 5 in a batch. Shard B: 0-1 bad, 2 in a batch. Shard A again: 0 bad, 1 in a batch.
        var a = progress.Register(Chunk("A", 0, 6));
        var b = progress.Register(Chunk("B", 1, 3));
        var a2 = progress.Register(Chunk("A", 2, 2));
        var c = progress.Register(Chunk("C", 3, 1));
        for (int i = 0; i < 3; i++) a.Skip(i);
        a.Place(3, published);
        counts.Add(progress.Cursor().Skipped);
        a.Skip(4);
        a.Place(5, published);
        b.Skip(0);
        b.Skip(1);
        counts.Add(progress.Cursor().Skipped); // the cursor now waits at B's sample 2
        b.Place(2, published);
        a2.Skip(0);
        a2.Place(1, published);
        counts.Add(progress.Cursor().Skipped);
        c.Place(0, published);
        counts.Add(progress.Cursor().Skipped);
        Assert.Equal([3L, 6, 7, 7], counts);

        Assert.Equal(new Dictionary<string, long> { ["A"] = 5, ["B"] = 2 }, progress.SkippedBefore(7));
        Assert.Equal(new Dictionary<string, long> { ["A"] = 4, ["B"] = 2 }, progress.SkippedBefore(6));
        // The first two batches are older than the two retained ones: the runs before the second (A 4, B 2) were folded into
        // per-shard totals, so the first batch's count can no longer be split by shard.
        Assert.Throws<ArgumentOutOfRangeException>(() => progress.SkippedBefore(3));
    }
}
