using Contrastive.Augment;
using Contrastive.Ingest;
using SkiaSharp;

namespace Contrastive.Batching.Tests;

/// <summary>In data that has captions, a sample without one is a bad sample: skipped and counted like an undecodable image.</summary>
public class CaptionBadSampleTests
{
    /// <summary>A small solid JPEG (24 × 20) of the given shade, for caption tests.</summary>
    internal static byte[] Jpeg(byte shade)
    {
        using var bmp = new SKBitmap(24, 20);
        using (var c = new SKCanvas(bmp)) c.Clear(new SKColor(shade, 120, 200));
        using var img = SKImage.FromBitmap(bmp);
        using var data = img.Encode(SKEncodedImageFormat.Jpeg, 90);
        return data.ToArray();
    }

    [Fact]
    public async Task Images_with_a_missing_or_blank_caption_are_counted_as_bad_samples_with_the_reason()
    {
        string root = Path.Combine(Path.GetTempPath(), "ctr-captions-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        try
        {
            for (int i = 0; i < 12; i++)
            {
                File.WriteAllBytes(Path.Combine(root, $"img{i:D2}.jpg"), Jpeg((byte)(i * 20)));
                if (i == 3) continue; // no caption file
                File.WriteAllText(Path.Combine(root, $"img{i:D2}.txt"), i == 8 ? " \n" : $"picture {i}");
            }
            var ds = await ImageDataset.OpenAsync(root);
            Assert.True(ds.HasCaptions);

            var options = new BatchingOptions { BatchSize = 5, Workers = 2, BadSampleAllowance = 5, MaxBadSampleFraction = 0.5 };
            var settings = new PipelineSettings(new SimClrViewPolicy(new AugmentOptions { Size = 8 }), 1, false);
            await using var p = InputPipeline.Start(ds.ReadAsync(new ReadPlan(0, 1, Shuffle: true, HoldoutSplit.None) { Captions = true }), options, settings);
            var seen = new List<long>();
            await foreach (var lease in p.ReadAllAsync())
                using (lease)
                    for (int i = 0; i < lease.Batch.Count; i++) seen.Add(lease.Batch.Indices[i]);

            Assert.Equal(10, seen.Count);
            Assert.DoesNotContain(3L, seen);
            Assert.DoesNotContain(8L, seen);
            Assert.Equal(2, p.Stats.BadSamples);
            Assert.Contains(p.Stats.BadExamples, e => e.Contains("img03.jpg") && e.Contains("no caption"));
            Assert.Contains(p.Stats.BadExamples, e => e.Contains("img08.jpg") && e.Contains("white space"));

            // An image-only read of the same folder uses every image.
            await using var images = InputPipeline.Start(ds.ReadAsync(new ReadPlan(0, 1, Shuffle: true, HoldoutSplit.None)), options, settings);
            long count = 0;
            await foreach (var lease in images.ReadAllAsync()) using (lease) count += lease.Batch.Count;
            Assert.Equal(12, count);
            Assert.Equal(0, images.Stats.BadSamples);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
