namespace Contrastive.Ingest.Tests;

/// <summary>Our Snappy block decoder against an independent encoder (Snappier), and on malformed blocks.</summary>
public class SnappyBlockTests
{
    public static TheoryData<int, int> Sizes => new()
    {
        { 0, 0 }, { 1, 1 }, { 59, 2 }, { 60, 3 }, { 61, 4 }, { 300, 5 }, { 70_000, 6 }, { 1 << 20, 7 }, { 5_000_000, 8 },
    };

    /// <summary>Data with literals, short and long repeats and overlapping patterns, so every tag kind occurs.</summary>
    private static byte[] Data(int n, int seed)
    {
        var rng = new Random(seed);
        var b = new byte[n];
        int i = 0;
        while (i < n)
        {
            int mode = rng.Next(4), run = Math.Min(n - i, 1 + rng.Next(mode == 3 ? 70_000 : 300));
            for (int k = 0; k < run; k++, i++)
                b[i] = mode switch
                {
                    0 => (byte)rng.Next(256),                       // incompressible
                    1 => (byte)(k % 3),                             // overlapping short pattern
                    2 => i >= 1000 ? b[i - 1000] : (byte)rng.Next(256), // copy from far back
                    _ => (byte)(k % 251),                           // long period
                };
        }
        return b;
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Decodes_what_Snappier_encodes(int size, int seed)
    {
        var data = Data(size, seed);
        var compressed = Snappier.Snappy.CompressToArray(data);
        var output = new byte[size + 7];
        Assert.Equal(size, SnappyBlock.DeclaredLength(compressed, out _));
        int written = SnappyBlock.Decompress(compressed, output);
        Assert.Equal(size, written);
        Assert.True(data.AsSpan().SequenceEqual(output.AsSpan(0, written)));
    }

    [Fact]
    public void Malformed_blocks_are_refused()
    {
        var good = Snappier.Snappy.CompressToArray(Data(5000, 9));
        var output = new byte[5000];
        Assert.Throws<InvalidDataException>(() => SnappyBlock.Decompress(good.AsSpan(0, good.Length - 3), output)); // truncated
        Assert.Throws<InvalidDataException>(() => SnappyBlock.Decompress(good, new byte[4999]));                   // does not fit
        Assert.Throws<InvalidDataException>(() => SnappyBlock.Decompress([0x05, 0x01, 0x07], output));           // copy before any output
        Assert.Throws<InvalidDataException>(() => SnappyBlock.Decompress([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], output)); // bad preamble
        Assert.Throws<InvalidDataException>(() => SnappyBlock.Decompress([0x03, 0x00, 0x41], output));           // 1 byte of 3 declared
    }
}
