namespace Contrastive.Ingest.Tests;

public class BatchDiversityTests
{
    [Theory]
    // {a,a,b,b}, pairs: 2 of the 6 hold one class -> 2·(1 − 1/6) = 5/3.
    [InlineData(new long[] { 2, 2 }, 2, 5.0 / 3)]
    // {a,a,a,b}, pairs: 3 of 6 hold b, every pair holds a -> 1 + 1/2.
    [InlineData(new long[] { 3, 1 }, 2, 1.5)]
    // Four singletons: a pair always has two classes.
    [InlineData(new long[] { 1, 1, 1, 1 }, 2, 2.0)]
    // Batch of one: one class. Batch of everything: every class with samples.
    [InlineData(new long[] { 5, 0, 7 }, 1, 1.0)]
    [InlineData(new long[] { 5, 0, 7 }, 12, 2.0)]
    [InlineData(new long[] { 5, 0, 7 }, 100, 2.0)]
    // {a×4, b×2, c×2}, batches of 3 of C(8,3) = 56: P(no a) = C(4,3)/56 = 4/56, P(no b) = P(no c) = C(6,3)/56 = 20/56 -> 3 − 44/56.
    [InlineData(new long[] { 4, 2, 2 }, 3, 3 - 44.0 / 56)]
    public void Expected_distinct_labels_match_hand_counts(long[] counts, int batch, double expected)
    {
        Assert.Equal(expected, BatchDiversity.ExpectedDistinct(counts, batch), 12);
    }

    [Fact]
    public void Expected_distinct_labels_stay_finite_for_large_sets()
    {
        // 1,000 classes of 1,300 (ImageNet-sized), batch 256: close to 1000·(1 − (1 − 1/1000)^256) = 225.9 (sampling with replacement).
        var imagenet = Enumerable.Repeat(1300L, 1000).ToArray();
        double e = BatchDiversity.ExpectedDistinct(imagenet, 256);
        Assert.InRange(e, 225.0, 227.0);
        Assert.Equal(10, BatchDiversity.ExpectedDistinct(Enumerable.Repeat(1_000_000L, 10).ToArray(), 4096), 9); // all but certain
    }

    [Fact]
    public void Run_statistics_tell_sorted_from_random_labels()
    {
        // 0 0 1 1 1 2 (and an unlabelled sample, left out): runs 2, 3, 1.
        var r = BatchDiversity.Runs([0, 0, Sample.NoLabel, 1, 1, 1, 2]);
        Assert.Equal(6, r.Samples);
        Assert.Equal(3, r.Runs);
        Assert.Equal(2.0, r.MeanLength);
        Assert.Equal(3, r.MaxLength);
        // p = 2/6, 3/6, 1/6: Σp² = 14/36, random mean run 1 / (1 − 14/36) = 36/22.
        Assert.Equal(36.0 / 22, r.RandomMeanLength, 12);

        var sorted = BatchDiversity.Runs(Enumerable.Range(0, 1000).Select(i => (long)(i / 100))); // 10 classes of 100, sorted
        Assert.Equal(100.0, sorted.MeanLength);
        Assert.Equal(10.0 / 9, sorted.RandomMeanLength, 12);
        Assert.True(sorted.LooksSorted());

        var rng = new Random(1);
        var shuffled = BatchDiversity.Runs(Enumerable.Range(0, 1000).Select(i => (long)(i / 100)).OrderBy(_ => rng.Next()).ToList());
        Assert.InRange(shuffled.Ratio, 0.8, 1.2);
        Assert.False(shuffled.LooksSorted());

        Assert.Equal(0, BatchDiversity.Runs([]).Runs);
        Assert.False(BatchDiversity.Runs([4, 4, 4]).LooksSorted()); // one class: nothing to tell
    }
}
