using System.Buffers.Binary;
using System.IO.Compression;
using System.Text.Json;

namespace Contrastive.Host.Tests;

/// <summary>MNIST-format data end to end: inspect, train on the IDX files directly, eval against raw pixels computed here.</summary>
public sealed class IdxCliTests() : TempFolderTest("idx")
{
    internal const int Side = 12;

    /// <summary>Class c is a bright bar at row 2c + 1 on noise; image n has class n mod 4.</summary>
    internal static (byte[] Images, byte[] Labels, byte[,] Pixels, int[] Classes) Make(int count, int seed)
    {
        var rng = new Random(seed);
        var images = new byte[16 + count * Side * Side];
        BinaryPrimitives.WriteInt32BigEndian(images, 0x803);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(8), Side);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(12), Side);
        var labels = new byte[8 + count];
        BinaryPrimitives.WriteInt32BigEndian(labels, 0x801);
        BinaryPrimitives.WriteInt32BigEndian(labels.AsSpan(4), count);
        var pixels = new byte[count, Side * Side];
        var classes = new int[count];
        for (int n = 0; n < count; n++)
        {
            int c = n % 4;
            classes[n] = c;
            labels[8 + n] = (byte)c;
            for (int p = 0; p < Side * Side; p++)
            {
                int y = p / Side;
                int v = rng.Next(0, 120) + (y == 2 * c + 1 + rng.Next(0, 2) ? 130 : 0);
                pixels[n, p] = images[16 + n * Side * Side + p] = (byte)v;
            }
        }
        return (images, labels, pixels, classes);
    }

    internal static void WriteGz(string path, byte[] bytes)
    {
        using var f = File.Create(path);
        using var gz = new GZipStream(f, CompressionLevel.Fastest);
        gz.Write(bytes);
    }

    /// <summary>Weighted kNN (cosine, exp(sim / T) votes) on raw pixels in [0, 1], in plain doubles.</summary>
    private static double PixelKnn(byte[,] bank, int[] bankY, byte[,] test, int[] testY, int k, double t)
    {
        int d = bank.GetLength(1), nb = bank.GetLength(0), nt = test.GetLength(0), correct = 0;
        double Norm(byte[,] m, int i) { double s = 0; for (int j = 0; j < d; j++) s += m[i, j] / 255.0 * (m[i, j] / 255.0); return Math.Sqrt(s); }
        var bankNorm = Enumerable.Range(0, nb).Select(i => Norm(bank, i)).ToArray();
        for (int q = 0; q < nt; q++)
        {
            double qn = Norm(test, q);
            var sims = new (double Sim, int Label)[nb];
            for (int i = 0; i < nb; i++)
            {
                double dot = 0;
                for (int j = 0; j < d; j++) dot += test[q, j] / 255.0 * (bank[i, j] / 255.0);
                sims[i] = (dot / (qn * bankNorm[i]), bankY[i]);
            }
            var votes = new double[4];
            foreach (var (sim, label) in sims.OrderByDescending(s => s.Sim).Take(k)) votes[label] += Math.Exp(sim / t);
            if (Array.IndexOf(votes, votes.Max()) == testY[q]) correct++;
        }
        return (double)correct / nt;
    }

    [Fact]
    public async Task Inspect_train_and_eval_read_idx_files_and_the_pixel_baseline_matches_a_plain_computation()
    {
        var train = Make(240, 1);
        var test = Make(60, 2);
        string trainImages = Path.Combine(Folder, "train-images-idx3-ubyte.gz"), testImages = Path.Combine(Folder, "t10k-images-idx3-ubyte");
        WriteGz(trainImages, train.Images);
        WriteGz(Path.Combine(Folder, "train-labels-idx1-ubyte.gz"), train.Labels);
        File.WriteAllBytes(testImages, test.Images);
        File.WriteAllBytes(Path.Combine(Folder, "t10k-labels-idx1-ubyte"), test.Labels);

        var (code, stdout, err) = await CliRunner.Run("inspect", "--data", trainImages, "--json");
        Assert.True(code == 0, err);
        var i = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal("idx", i.GetProperty("format").GetString());
        Assert.Equal(240, i.GetProperty("samples").GetInt64());
        Assert.Equal(4, i.GetProperty("labels").GetInt32());

        (code, stdout, err) = await CliRunner.Run("train", "--data", trainImages, "--out", Path.Combine(Folder, "run"), "--image-size", $"{Side}",
            "--max-steps", "3", "--max-minutes", "0", "--batch-size", "32", "--workers", "1", "--json");
        Assert.True(code == 0, err);
        var r = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal(3, r.GetProperty("steps").GetInt64());

        (code, stdout, err) = await CliRunner.Run("eval", "--checkpoint", r.GetProperty("checkpoint").GetString()!, "--train-data", trainImages,
            "--test-data", testImages, "--baselines", "--crop-fraction", "1", "--json");
        Assert.True(code == 0, err);
        var e = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal((240, 60), (e.GetProperty("train_samples").GetInt64(), e.GetProperty("test_samples").GetInt64()));
        double expect = PixelKnn(train.Pixels, train.Classes, test.Pixels, test.Classes, 20, 0.1);
        Assert.Equal(expect, e.GetProperty("knn_top1_pixels").GetDouble(), 6);
        Assert.True(expect > 0.5, $"the bars should be easy for raw pixels: {expect}");

        (code, _, err) = await CliRunner.Run("eval", "--checkpoint", r.GetProperty("checkpoint").GetString()!, "--train-data", trainImages,
            "--test-data", testImages, "--crop-fraction", "1.5");
        Assert.Equal(2, code);
        Assert.Contains("--crop-fraction must be between 0.01 and 1 (given: 1.5)", err);
    }
}
