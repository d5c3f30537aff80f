using Contrastive.Augment;
using Contrastive.Batching;
using Contrastive.Ingest;
using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training.Tests;

/// <summary>Series through the same input pipeline: the windows land in float batches exactly, and the trainer's tensor sees them.</summary>
public sealed class SeriesPipelineTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ctr-series-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    [Fact]
    public async Task Windows_arrive_exactly_in_float_batches_and_bad_rows_are_counted()
    {
        var rows = Enumerable.Range(0, 40).Select(i => new SeriesRow(
            [Enumerable.Range(0, 700 + i).Select(t => i * 1000f + t).ToArray(), Enumerable.Range(0, 700 + i).Select(t => -i * 1000f - t).ToArray()], i % 3)).ToList();
        rows[7] = rows[7] with { Channels = [[1f, 2f], [3f]] }; // ragged: skipped and counted
        await ParquetSeriesShardWriter.WriteAsync(Path.Combine(_dir, "s.parquet"), rows, rowsPerRowGroup: 9);
        var ds = await ParquetSeriesDataset.OpenAsync(_dir);
        var policy = new SeriesWindowPolicy(new SeriesWindowOptions { Length = 320, ScaleProbability = 0, NoiseProbability = 0, MaskProbability = 0 });
        var settings = new PipelineSettings(new SeriesSampleProcessor(policy, 2), 5, DropLast: false);
        int seen = 0;
        await using (var p = InputPipeline.Start(((IImageDataset)ds).ReadAsync(new ReadPlan(0, 5, true, HoldoutSplit.None)),
            new BatchingOptions { BatchSize = 8, Workers = 2, BadSampleAllowance = 5 }, settings))
        {
            await foreach (var lease in p.ReadAllAsync())
            {
                using (lease)
                using (var scope = NewDisposeScope())
                {
                    var x = CpcMethod.Input(lease.Batch, 2, 320, CPU);
                    Assert.Equal(new long[] { lease.Batch.Count, 2, 320 }, x.shape);
                    for (int i = 0; i < lease.Batch.Count; i++, seen++)
                    {
                        long index = lease.Batch.Indices[i];
                        var row = rows[(int)index];
                        int start = policy.WindowStart(row.Channels[0].Length, 5, 0, index);
                        for (int c = 0; c < 2; c++)
                            Assert.Equal(row.Channels[c].Skip(start).Take(320).ToArray(), x[i, c].data<float>().ToArray());
                        Assert.Equal(row.Label, lease.Batch.Labels[i]);
                    }
                }
            }
            Assert.Equal(1, p.Stats.BadSamples);
            Assert.Contains(p.Stats.BadExamples, e => e.Contains("channels of different lengths"));
        }
        Assert.Equal(39, seen);
    }

    [Fact]
    public async Task The_trainer_refuses_an_image_batch()
    {
        using var pool = new BatchPool(1, 1, 2, 4);
        var lease = await pool.RentAsync(default);
        Assert.Throws<ArgumentException>(() => CpcMethod.Input(lease.Batch, 1, 16, CPU));
        lease.Dispose();
    }
}
