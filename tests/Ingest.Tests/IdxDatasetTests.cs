using System.Buffers.Binary;
using System.IO.Compression;

namespace Contrastive.Ingest.Tests;

public class IdxDatasetTests
{
    // Image n has pixel (y, x) = (n * 7 + y * 5 + x) mod 256 and label n mod 10.
    private static byte Pixel(int n, int y, int x) => (byte)((n * 7 + y * 5 + x) % 256);

    private static byte[] Images(int count, int rows, int cols)
    {
        var b = new byte[16 + count * rows * cols];
        BinaryPrimitives.WriteInt32BigEndian(b, 0x803);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(12), cols);
        for (int n = 0; n < count; n++)
            for (int y = 0; y < rows; y++)
                for (int x = 0; x < cols; x++)
                    b[16 + (n * rows + y) * cols + x] = Pixel(n, y, x);
        return b;
    }

    private static byte[] Labels(int count)
    {
        var b = new byte[8 + count];
        BinaryPrimitives.WriteInt32BigEndian(b, 0x801);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(4), count);
        for (int n = 0; n < count; n++) b[8 + n] = (byte)(n % 10);
        return b;
    }

    private static void WriteGz(string path, byte[] bytes)
    {
        using var f = File.Create(path);
        using var gz = new GZipStream(f, CompressionLevel.Fastest);
        gz.Write(bytes);
    }

    /// <summary>Reads back the gray pixels of an 8-bit BMP the dataset made (top-down rows, 4-byte aligned).</summary>
    private static byte[,] BmpPixels(ReadOnlySpan<byte> bmp)
    {
        Assert.Equal((byte)'B', bmp[0]);
        Assert.Equal((byte)'M', bmp[1]);
        Assert.Equal(bmp.Length, BinaryPrimitives.ReadInt32LittleEndian(bmp[2..]));
        int offset = BinaryPrimitives.ReadInt32LittleEndian(bmp[10..]);
        int width = BinaryPrimitives.ReadInt32LittleEndian(bmp[18..]), height = -BinaryPrimitives.ReadInt32LittleEndian(bmp[22..]);
        Assert.Equal(8, BinaryPrimitives.ReadInt16LittleEndian(bmp[28..]));
        int stride = (width + 3) / 4 * 4;
        var p = new byte[height, width];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                byte index = bmp[offset + y * stride + x];
                Assert.Equal(index, bmp[54 + index * 4]); // the palette is the identity gray ramp
                p[y, x] = index;
            }
        return p;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Images_and_labels_read_back_exactly_from_plain_and_gzipped_files(bool gz)
    {
        using var dir = new TempDir();
        string images = dir.File("train-images-idx3-ubyte" + (gz ? ".gz" : "")), labels = dir.File("train-labels-idx1-ubyte" + (gz ? ".gz" : ""));
        if (gz) { WriteGz(images, Images(23, 5, 6)); WriteGz(labels, Labels(23)); }
        else { File.WriteAllBytes(images, Images(23, 5, 6)); File.WriteAllBytes(labels, Labels(23)); }

        var ds = await ImageDataset.OpenAsync(images);
        Assert.Equal("idx", ds.Format);
        Assert.Equal(23, ds.SampleCount);
        Assert.True(ds.HasLabels);
        var idx = Assert.IsType<IdxDataset>(ds);
        Assert.Equal((5, 6), idx.Shape);

        var seen = new List<long>();
        await foreach (var c in IdxDataset.Open(images, images, chunkSize: 4).ReadAsync(new ReadPlan(0, 0, false, HoldoutSplit.None)))
            using (c)
                for (int i = 0; i < c.Count; i++)
                {
                    int n = (int)c.Indices[i];
                    seen.Add(n);
                    Assert.Equal(n % 10, c.Labels[i]);
                    var p = BmpPixels(c.Images[i].Span);
                    for (int y = 0; y < 5; y++)
                        for (int x = 0; x < 6; x++)
                            Assert.Equal(Pixel(n, y, x), p[y, x]);
                }
        Assert.Equal(Enumerable.Range(0, 23).Select(i => (long)i), seen);
    }

    [Fact]
    public async Task Shuffled_epochs_cover_every_image_once_and_a_cursor_resumes_the_rest()
    {
        using var dir = new TempDir();
        string images = dir.File("t10k-images-idx3-ubyte");
        File.WriteAllBytes(images, Images(50, 3, 3));
        var ds = IdxDataset.Open(images, images, chunkSize: 7);
        Assert.False(ds.HasLabels); // no labels file beside it

        var plan = new ReadPlan(2, 11, true, HoldoutSplit.None);
        var order = new List<(long Index, ReadCursor Cursor)>();
        await foreach (var c in ds.ReadAsync(plan))
            using (c)
                for (int i = 0; i < c.Count; i++)
                {
                    Assert.Equal(Sample.NoLabel, c.Labels[i]);
                    order.Add((c.Indices[i], c.CursorAt(i)));
                }
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (long)i), order.Select(o => o.Index).Order());
        Assert.NotEqual(Enumerable.Range(0, 50).Select(i => (long)i), order.Select(o => o.Index));

        foreach (int k in new[] { 1, 17, 49 })
        {
            var rest = new List<long>();
            await foreach (var c in ds.ReadAsync(plan with { From = order[k].Cursor }))
                using (c)
                    for (int i = 0; i < c.Count; i++) rest.Add(c.Indices[i]);
            Assert.Equal(order.Skip(k).Select(o => o.Index), rest);
        }
    }

    [Fact]
    public void Bad_files_give_errors_that_name_the_file_and_the_problem()
    {
        using var dir = new TempDir();
        string notIdx = dir.File("a-images-idx3-ubyte");
        File.WriteAllBytes(notIdx, [0, 0, 8, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        var e = Assert.Throws<DataSourceException>(() => IdxDataset.Open(notIdx, notIdx));
        Assert.Contains(notIdx, e.Message);
        Assert.Contains("0x00000803", e.Message);

        string truncated = dir.File("b-images-idx3-ubyte");
        File.WriteAllBytes(truncated, Images(10, 4, 4)[..100]);
        e = Assert.Throws<DataSourceException>(() => IdxDataset.Open(truncated, truncated));
        Assert.Contains("truncated", e.Message);
        Assert.Contains("10 images of 4×4", e.Message);

        string images = dir.File("c-images-idx3-ubyte");
        File.WriteAllBytes(images, Images(10, 4, 4));
        File.WriteAllBytes(dir.File("c-labels-idx1-ubyte"), Labels(9));
        e = Assert.Throws<DataSourceException>(() => IdxDataset.Open(images, images));
        Assert.Contains("c-labels-idx1-ubyte", e.Message);
        Assert.Contains("9 labels", e.Message);

        string badGz = dir.File("d-images-idx3-ubyte.gz");
        File.WriteAllBytes(badGz, [1, 2, 3, 4, 5]);
        e = Assert.Throws<DataSourceException>(() => IdxDataset.Open(badGz, badGz));
        Assert.Contains(badGz, e.Message);
    }
}
