using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training.Tests;

/// <summary>Each loss against an independent plain-C# computation from the paper's formula, and the identities between them.</summary>
public class LossFamilyTests
{
    private static double[][] Normalize(float[,] x)
    {
        int n = x.GetLength(0), d = x.GetLength(1);
        var r = new double[n][];
        for (int i = 0; i < n; i++)
        {
            r[i] = new double[d];
            double norm = 0;
            for (int j = 0; j < d; j++) norm += (double)x[i, j] * x[i, j];
            norm = Math.Sqrt(norm);
            for (int j = 0; j < d; j++) r[i][j] = x[i, j] / norm;
        }
        return r;
    }

    private static double Dot(double[] a, double[] b) { double s = 0; for (int i = 0; i < a.Length; i++) s += a[i] * b[i]; return s; }

    private static float[,] Random(int n, int d, int seed) => TestMatrices.Random(n, d, seed);

    private static float[,] Stack(float[,] a, float[,] b)
    {
        int n = a.GetLength(0), d = a.GetLength(1);
        var r = new float[2 * n, d];
        for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) { r[i, j] = a[i, j]; r[n + i, j] = b[i, j]; }
        return r;
    }

    [Fact]
    public void SupCon_matches_its_formula_and_equals_NtXent_with_one_positive_per_anchor()
    {
        using var scope = NewDisposeScope();
        var x = Random(7, 5, 1);
        long[] labels = [0, 0, 1, 1, 0, 2, 1];
        double t = 0.2;
        var z = Normalize(x);
        double total = 0;
        int anchors = 0;
        for (int i = 0; i < 7; i++)
        {
            double denom = 0;
            for (int a = 0; a < 7; a++) if (a != i) denom += Math.Exp(Dot(z[i], z[a]) / t);
            var pos = Enumerable.Range(0, 7).Where(p => p != i && labels[p] == labels[i]).ToList();
            if (pos.Count == 0) continue;
            total += pos.Sum(p => -Math.Log(Math.Exp(Dot(z[i], z[p]) / t) / denom)) / pos.Count;
            anchors++;
        }
        double expected = total / anchors;
        Assert.Equal(expected, new SupConLoss(t).Compute(tensor(x), tensor(labels)).item<float>(), 4);

        // Two views of 6 instances, labels = instance ids: exactly NT-Xent.
        var v1 = Random(6, 4, 2);
        var v2 = Random(6, 4, 3);
        long[] ids = [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5];
        double supcon = new SupConLoss(0.5).Compute(tensor(Stack(v1, v2)), tensor(ids)).item<float>();
        double ntxent = new NtXentLoss(0.5).Compute(tensor(v1), tensor(v2)).item<float>();
        Assert.Equal(ntxent, supcon, 5);
    }

    private static double DebiasedReference(float[,] a, float[,] b, double t, double tauPlus, double beta)
    {
        int n = a.GetLength(0);
        var z = Normalize(Stack(a, b));
        int m = 2 * n - 2;
        double total = 0;
        for (int i = 0; i < 2 * n; i++)
        {
            int partner = i < n ? i + n : i - n;
            double pos = Math.Exp(Dot(z[i], z[partner]) / t);
            var negs = Enumerable.Range(0, 2 * n).Where(k => k != i && k != partner).Select(k => Math.Exp(Dot(z[i], z[k]) / t)).ToArray();
            double sum;
            if (beta > 0)
            {
                var imp = negs.Select(v => Math.Pow(v, beta)).ToArray();
                sum = imp.Zip(negs, (w, v) => w * v).Sum() / imp.Average();
            }
            else sum = negs.Sum();
            double ng = Math.Max((-tauPlus * m * pos + sum) / (1 - tauPlus), m * Math.Exp(-1 / t));
            total += -Math.Log(pos / (pos + ng));
        }
        return total / (2 * n);
    }

    [Theory]
    [InlineData(0.0, 0.0)]
    [InlineData(0.1, 0.0)]
    [InlineData(0.1, 1.0)]
    [InlineData(0.05, 0.5)]
    public void Debiased_and_hard_negative_InfoNCE_match_their_formulas(double tauPlus, double beta)
    {
        using var scope = NewDisposeScope();
        var a = Random(5, 6, 4);
        var b = Random(5, 6, 5);
        double got = new DebiasedInfoNceLoss(0.5, tauPlus, beta).Compute(tensor(a), tensor(b)).item<float>();
        Assert.Equal(DebiasedReference(a, b, 0.5, tauPlus, beta), got, 4);
        if (tauPlus == 0 && beta == 0)
            Assert.Equal(new NtXentLoss(0.5).Compute(tensor(a), tensor(b)).item<float>(), got, 5); // plain InfoNCE
    }

    private static double TripletReference(float[,] x, long[] labels, double margin, bool semiHard)
    {
        var z = Normalize(x);
        int n = z.Length;
        double D(int i, int j) => Math.Sqrt(Math.Max(0, z[i].Zip(z[j], (p, q) => (p - q) * (p - q)).Sum()));
        var losses = new List<double>();
        for (int i = 0; i < n; i++)
        {
            var pos = Enumerable.Range(0, n).Where(j => j != i && labels[j] == labels[i]).ToList();
            var neg = Enumerable.Range(0, n).Where(k => labels[k] != labels[i]).ToList();
            if (pos.Count == 0 || neg.Count == 0) continue;
            if (!semiHard)
            {
                losses.Add(Math.Max(0, pos.Max(j => D(i, j)) - neg.Min(k => D(i, k)) + margin));
                continue;
            }
            foreach (int j in pos)
            {
                var farther = neg.Where(k => D(i, k) > D(i, j)).ToList();
                double dn = farther.Count > 0 ? farther.Min(k => D(i, k)) : neg.Min(k => D(i, k));
                losses.Add(Math.Max(0, D(i, j) - dn + margin));
            }
        }
        return losses.Average();
    }

    [Theory]
    [InlineData(TripletLoss.Mining.BatchHard)]
    [InlineData(TripletLoss.Mining.SemiHard)]
    public void Triplet_mining_matches_its_definition_and_is_zero_on_separated_data(TripletLoss.Mining mining)
    {
        using var scope = NewDisposeScope();
        var x = Random(9, 3, 6);
        long[] labels = [0, 1, 2, 0, 1, 2, 0, 1, 3];
        double got = new TripletLoss(0.3, mining).Compute(tensor(x), tensor(labels)).item<float>();
        Assert.Equal(TripletReference(x, labels, 0.3, mining == TripletLoss.Mining.SemiHard), got, 4);

        // Classes on orthogonal axes: every positive closer than every negative, so margin 0 gives 0.
        var sep = new float[6, 3] { { 1, 0.01f, 0 }, { 1, -0.01f, 0 }, { 0, 1, 0.01f }, { 0, 1, -0.01f }, { 0.01f, 0, 1 }, { -0.01f, 0, 1 } };
        Assert.Equal(0.0, new TripletLoss(0, mining).Compute(tensor(sep), tensor(new long[] { 0, 0, 1, 1, 2, 2 })).item<float>(), 6);
    }

    [Fact]
    public void The_losses_have_gradients()
    {
        using var scope = NewDisposeScope();
        var x = tensor(Random(8, 4, 7), requires_grad: true);
        var labels = tensor(new long[] { 0, 1, 0, 1, 2, 2, 3, 3 });
        foreach (var loss in new Func<Tensor>[]
        {
            () => new SupConLoss().Compute(x, labels),
            () => new TripletLoss().Compute(x, labels),
            () => new DebiasedInfoNceLoss(0.5, 0.1, 1.0).Compute(x.narrow(0, 0, 4), x.narrow(0, 4, 4)),
        })
        {
            x.grad?.zero_();
            loss().backward();
            Assert.True(x.grad!.abs().sum().item<float>() > 0);
            Assert.False(x.grad!.isnan().any().item<bool>());
        }
    }
}
