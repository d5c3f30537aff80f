using System.Text;
using Contrastive.Ingest;

namespace Contrastive.Batching.Tests;

/// <summary>
/// Captions' tokens travel with their images: workers encode each caption into its slot's row of the batch's pooled
/// token plane. The encoder here is a plain byte encoder (the real one, GPT-2 BPE, lives in Training and is tested with
/// the pipeline in Training.Tests); it leaves garbage after the ids so that the pipeline's own padding is what is tested.
/// </summary>
public class CaptionTokenPipelineTests
{
    private const int Context = 12;

    /// <summary>Start 1, each UTF-8 byte + 2 (truncated to the row), end 300; past the end it writes -1 (the pipeline must pad).</summary>
    private sealed class ByteEncoder : ICaptionEncoder
    {
        public int Context => CaptionTokenPipelineTests.Context;

        public string Name => "bytes";

        public int EncodeUtf8Into(ReadOnlySpan<byte> utf8, Span<int> row)
        {
            if (utf8.IndexOf((byte)'#') >= 0) throw new SampleFormatException("a caption with '#' cannot be encoded");
            row.Fill(-1);
            int n = Math.Min(utf8.Length, Context - 2);
            row[0] = 1;
            for (int i = 0; i < n; i++) row[1 + i] = utf8[i] + 2;
            row[n + 1] = 300;
            return n + 2;
        }

        public static int[] Expected(string caption)
        {
            var row = new int[CaptionTokenPipelineTests.Context];
            int length = new ByteEncoder().EncodeUtf8Into(Encoding.UTF8.GetBytes(caption), row);
            row.AsSpan(length).Clear();
            return row;
        }
    }

    /// <summary>Caption of image <paramref name="i"/>: long and short ones mixed, so a short row often lands where a long one was.</summary>
    private static string CaptionOf(int i) => i % 3 == 0 ? $"a long caption number {i} that fills the row" : $"c{i}";

    private static async Task<(string Root, IImageDataset Dataset)> FolderAsync(int images, int refused = -1)
    {
        string root = Path.Combine(Path.GetTempPath(), "ctr-tokens-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        for (int i = 0; i < images; i++)
        {
            File.WriteAllBytes(Path.Combine(root, $"img{i:D2}.jpg"), CaptionBadSampleTests.Jpeg((byte)(i * 5)));
            File.WriteAllText(Path.Combine(root, $"img{i:D2}.txt"), i == refused ? "refused # caption" : CaptionOf(i));
        }
        return (root, await ImageDataset.OpenAsync(root));
    }

    private static int ImageOf(string? key) => int.Parse(Path.GetFileNameWithoutExtension(key!)[3..]);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Each_slot_gets_its_own_captions_token_row_padded_with_zeros_in_reused_buffers(bool deterministic)
    {
        var (root, ds) = await FolderAsync(40, refused: 17);
        try
        {
            var options = new BatchingOptions { BatchSize = 3, Workers = 2, Prefetch = 1, Deterministic = deterministic };
            var settings = new PipelineSettings(new SimClrViewPolicy(new AugmentOptions { Size = 8 }), 5, false) { Captions = new ByteEncoder() };
            await using var p = InputPipeline.Start(ds.ReadAsync(new ReadPlan(0, 1, Shuffle: true, HoldoutSplit.None) { Captions = true }), options, settings);
            var seen = new List<int>();
            var planes = new HashSet<int[]>(ReferenceEqualityComparer.Instance);
            int batches = 0;
            await foreach (var lease in p.ReadAllAsync())
            {
                using (lease)
                {
                    var b = lease.Batch;
                    batches++;
                    Assert.Equal(Context, b.Context);
                    Assert.NotNull(b.Tokens);
                    Assert.Equal(b.Capacity * Context, b.Tokens!.Length);
                    planes.Add(b.Tokens);
                    for (int s = 0; s < b.Count; s++)
                    {
                        int image = ImageOf(b.Keys[s]);
                        seen.Add(image);
                        var expected = ByteEncoder.Expected(CaptionOf(image));
                        Assert.Equal(expected, b.TokenRow(s).ToArray());
                        Assert.Equal(Array.FindLastIndex(expected, id => id != 0) + 1, b.TokenLengths![s]);
                    }
                }
            }

            Assert.Equal(Enumerable.Range(0, 40).Where(i => i != 17), seen.Order());
            Assert.Equal(1, p.Stats.BadSamples);
            Assert.Contains(p.Stats.BadExamples, e => e.Contains("img17.jpg") && e.Contains("'#'"));
            // The token planes are the pool's: one per buffer, reused, not one per batch.
            Assert.True(batches > p.Pool.Buffers, $"{batches} batches should outnumber the {p.Pool.Buffers} buffers");
            Assert.True(planes.Count <= p.Pool.Buffers, $"{planes.Count} token planes for {p.Pool.Buffers} buffers");
            Assert.Equal((long)p.Pool.Buffers * 3 * Context * sizeof(int), p.Pool.TokenBytes);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task Image_only_pipelines_have_no_token_plane_even_on_captioned_data()
    {
        var (root, ds) = await FolderAsync(8);
        try
        {
            var options = new BatchingOptions { BatchSize = 4, Workers = 2 };
            var settings = new PipelineSettings(new SimClrViewPolicy(new AugmentOptions { Size = 8 }), 5, false);
            await using var p = InputPipeline.Start(ds.ReadAsync(new ReadPlan(0, 1, Shuffle: true, HoldoutSplit.None) { Captions = true }), options, settings);
            int samples = 0;
            await foreach (var lease in p.ReadAllAsync())
                using (lease)
                {
                    Assert.Null(lease.Batch.Tokens);
                    Assert.Null(lease.Batch.TokenLengths);
                    Assert.Equal(0, lease.Batch.Context);
                    Assert.Throws<InvalidOperationException>(() => lease.Batch.TokenRow(0));
                    samples += lease.Batch.Count;
                }
            Assert.Equal(8, samples);
            Assert.Equal(0, p.Pool.TokenBytes);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task Tokenizing_chunks_read_without_captions_fails_the_run_with_the_reason()
    {
        var (root, ds) = await FolderAsync(4);
        try
        {
            var options = new BatchingOptions { BatchSize = 2, Workers = 1 };
            var settings = new PipelineSettings(new SimClrViewPolicy(new AugmentOptions { Size = 8 }), 5, false) { Captions = new ByteEncoder() };
            await using var p = InputPipeline.Start(ds.ReadAsync(new ReadPlan(0, 1, Shuffle: false, HoldoutSplit.None)), options, settings);
            var e = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            {
                await foreach (var lease in p.ReadAllAsync()) lease.Dispose();
            });
            Assert.Contains("ReadPlan.Captions", e.Message);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task Tokens_add_no_per_sample_allocation_to_the_workers()
    {
        // The same images read with and without text: the workers' measured allocations (decode, where the caption is
        // encoded, and view writing, where the row is copied) may differ by a per-worker scratch row, not by an array per sample.
        var (root, ds) = await FolderAsync(40);
        try
        {
            async Task<long> AllocatedAsync(ICaptionEncoder? encoder)
            {
                var options = new BatchingOptions { BatchSize = 4, Workers = 2, Deterministic = false };
                var settings = new PipelineSettings(new SimClrViewPolicy(new AugmentOptions { Size = 8 }), 5, false) { Captions = encoder };
                await using var p = InputPipeline.Start(ds.ReadAsync(new ReadPlan(0, 1, Shuffle: false, HoldoutSplit.None) { Captions = true }), options, settings);
                await foreach (var lease in p.ReadAllAsync()) lease.Dispose();
                Assert.Equal(40, p.Stats.SamplesDone);
                return p.Stats.DecodeAllocated + p.Stats.AugmentAllocated;
            }

            await AllocatedAsync(null); // warm-up: first-call allocations of the decoder and policy
            long without = await AllocatedAsync(null);
            long with = await AllocatedAsync(new ByteEncoder());
            long perSample = (with - without) / 40;
            // An int[12] is 72 bytes; two workers' scratch rows over 40 samples are a few bytes each.
            Assert.True(perSample < 24, $"text added {with - without} bytes over 40 samples ({perSample} per sample)");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
