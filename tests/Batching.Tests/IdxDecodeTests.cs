using System.Buffers.Binary;
using Contrastive.Augment;
using Contrastive.Ingest;

namespace Contrastive.Batching.Tests;

public class IdxDecodeTests
{
    [Fact]
    public async Task Idx_images_decode_to_their_gray_pixels_in_every_channel()
    {
        string dir = Path.Combine(Path.GetTempPath(), "ctr-idx-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            const int count = 3, rows = 28, cols = 27; // 27: rows padded to 28 bytes in the BMP
            var b = new byte[16 + count * rows * cols];
            BinaryPrimitives.WriteInt32BigEndian(b, 0x803);
            BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(4), count);
            BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(8), rows);
            BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(12), cols);
            for (int i = 16; i < b.Length; i++) b[i] = (byte)(i * 31 % 256);
            string path = Path.Combine(dir, "x-images-idx3-ubyte");
            File.WriteAllBytes(path, b);

            var decoder = new SkiaImageDecoder();
            var image = new PixelBuffer();
            int seen = 0;
            await foreach (var chunk in (await ImageDataset.OpenAsync(path)).ReadAsync(new ReadPlan(0, 0, false, HoldoutSplit.None)))
                using (chunk)
                    for (int s = 0; s < chunk.Count; s++, seen++)
                    {
                        decoder.Decode(chunk.Images[s].Span, image);
                        Assert.Equal((cols, rows), (image.Width, image.Height));
                        int n = (int)chunk.Indices[s];
                        for (int p = 0; p < rows * cols; p++)
                        {
                            byte gray = b[16 + n * rows * cols + p];
                            Assert.Equal((gray, gray, gray), (image.Pixels[p * 3], image.Pixels[p * 3 + 1], image.Pixels[p * 3 + 2]));
                        }
                    }
            Assert.Equal(count, seen);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
