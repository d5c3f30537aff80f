using Contrastive.Augment;
using Contrastive.Batching;
using Contrastive.Ingest;
using Contrastive.Training.Text;
using SkiaSharp;

namespace Contrastive.Training.Tests.Text;

/// <summary>The GPT-2 tokenizer as the pipeline's caption encoder: each batch row holds exactly what EncodeInto gives for that sample's caption.</summary>
public class CaptionTokensInBatchesTests
{
    private static byte[] Jpeg(byte shade)
    {
        using var bmp = new SKBitmap(20, 20);
        using (var c = new SKCanvas(bmp)) c.Clear(new SKColor(shade, 90, 160));
        using var img = SKImage.FromBitmap(bmp);
        using var data = img.Encode(SKEncodedImageFormat.Jpeg, 90);
        return data.ToArray();
    }

    private static readonly string[] s_colours = ["red", "green", "blue", "yellow", "purple"];

    // Short and long captions mixed (the long ones overrun a 16-id context), so rows are reused by captions of other lengths.
    private static string CaptionOf(int i) => i % 4 == 0
        ? $"A photo of a {s_colours[i % 5]} circle in the top left corner of a large white canvas, number {i}."
        : $"{s_colours[i % 5]} square {i}";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Batch_token_rows_are_the_tokenizers_rows_of_each_samples_caption(bool deterministic)
    {
        string root = Path.Combine(Path.GetTempPath(), "ctr-bpe-batches-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        try
        {
            const int images = 30;
            for (int i = 0; i < images; i++)
            {
                File.WriteAllBytes(Path.Combine(root, $"img{i:D2}.jpg"), Jpeg((byte)(i * 7)));
                File.WriteAllText(Path.Combine(root, $"img{i:D2}.txt"), CaptionOf(i));
            }
            var ds = await ImageDataset.OpenAsync(root);
            var tokenizer = new CaptionTokenizer(contextLength: 16);
            var options = new BatchingOptions { BatchSize = 4, Workers = 2, Prefetch = 1, Deterministic = deterministic };
            var settings = new PipelineSettings(new SimClrViewPolicy(new AugmentOptions { Size = 8 }), 3, DropLast: false) { Captions = tokenizer };
            await using var p = InputPipeline.Start(ds.ReadAsync(new ReadPlan(0, 1, Shuffle: true, HoldoutSplit.None) { Captions = true }), options, settings);

            var seen = new List<int>();
            int batches = 0;
            await foreach (var lease in p.ReadAllAsync())
            {
                using (lease)
                {
                    var b = lease.Batch;
                    batches++;
                    Assert.Equal(16, b.Context);
                    for (int s = 0; s < b.Count; s++)
                    {
                        int image = int.Parse(Path.GetFileNameWithoutExtension(b.Keys[s]!)[3..]);
                        seen.Add(image);
                        var expected = new int[16];
                        int length = tokenizer.EncodeInto(CaptionOf(image), expected);
                        Assert.Equal(expected, b.TokenRow(s).ToArray());
                        Assert.Equal(length, b.TokenLengths![s]);
                        Assert.Equal(CaptionTokenizer.EndToken, b.Tokens![s * 16 + length - 1]);
                    }
                }
            }

            Assert.Equal(Enumerable.Range(0, images), seen.Order());
            Assert.Equal(0, p.Stats.BadSamples);
            Assert.True(batches > p.Pool.Buffers, $"{batches} batches should outnumber the {p.Pool.Buffers} buffers, so that buffers are reused");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void As_a_caption_encoder_a_caption_empty_once_cleaned_is_a_bad_sample_and_a_wrong_row_is_an_error()
    {
        ICaptionEncoder encoder = new CaptionTokenizer(contextLength: 10);
        Assert.Equal(10, encoder.Context);
        Assert.Equal("gpt2-bpe", encoder.Name);

        var row = new int[10];
        row.AsSpan().Fill(-5);
        int length = encoder.EncodeUtf8Into("Red square"u8, row);
        var expected = new int[10];
        Assert.Equal(new CaptionTokenizer(10).EncodeInto("red square", expected), length);
        Assert.Equal(expected, row);

        Assert.Throws<SampleFormatException>(() => encoder.EncodeUtf8Into(" \t\n "u8, new int[10]));
        Assert.Throws<ArgumentException>(() => encoder.EncodeUtf8Into("red"u8, new int[9]));
    }
}
