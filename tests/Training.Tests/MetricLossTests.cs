using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training.Tests;

/// <summary>N-pair, lifted structured, soft nearest neighbour and BYOL losses against plain-C# computations of their formulas.</summary>
public class MetricLossTests
{
    private static float[,] Random(int n, int d, int seed) => TestMatrices.Random(n, d, seed);

    private static double[] Row(float[,] x, int i, bool normalize)
    {
        int d = x.GetLength(1);
        var r = new double[d];
        for (int j = 0; j < d; j++) r[j] = x[i, j];
        if (normalize) { double s = Math.Sqrt(r.Sum(v => v * v)); for (int j = 0; j < d; j++) r[j] /= s; }
        return r;
    }

    private static double Dist2(double[] a, double[] b) => a.Zip(b, (p, q) => (p - q) * (p - q)).Sum();

    [Fact]
    public void NPair_matches_its_formula()
    {
        using var scope = NewDisposeScope();
        var a = Random(5, 4, 1);
        var p = Random(5, 4, 2);
        double reference = 0;
        for (int i = 0; i < 5; i++)
        {
            var ai = Row(a, i, false);
            double s = 0;
            for (int j = 0; j < 5; j++) if (j != i) s += Math.Exp(ai.Zip(Row(p, j, false), (x, y) => x * y).Sum() - ai.Zip(Row(p, i, false), (x, y) => x * y).Sum());
            reference += Math.Log(1 + s);
        }
        reference /= 5;
        double l2 = 0.01;
        double reg = Enumerable.Range(0, 5).Average(i => Row(a, i, false).Sum(v => v * v)) + Enumerable.Range(0, 5).Average(i => Row(p, i, false).Sum(v => v * v));
        Assert.Equal(reference, new NPairLoss(0).Compute(tensor(a), tensor(p)).item<float>(), 4);
        Assert.Equal(reference + l2 * reg / 2, new NPairLoss(l2).Compute(tensor(a), tensor(p)).item<float>(), 4);
    }

    [Fact]
    public void Lifted_structured_matches_its_formula()
    {
        using var scope = NewDisposeScope();
        var x = Random(8, 3, 3);
        long[] labels = [0, 0, 1, 1, 2, 2, 0, 1];
        double alpha = 0.8;
        var z = Enumerable.Range(0, 8).Select(i => Row(x, i, true)).ToArray();
        double D(int i, int j) => Math.Sqrt(Dist2(z[i], z[j]));
        double NegSum(int i) => Enumerable.Range(0, 8).Where(k => labels[k] != labels[i]).Sum(k => Math.Exp(alpha - D(i, k)));
        double total = 0;
        int pairs = 0;
        for (int i = 0; i < 8; i++)
            for (int j = i + 1; j < 8; j++)
            {
                if (labels[i] != labels[j]) continue;
                pairs++;
                double jij = Math.Log(NegSum(i) + NegSum(j)) + D(i, j);
                total += Math.Pow(Math.Max(0, jij), 2);
            }
        Assert.Equal(total / (2 * pairs), new LiftedStructuredLoss(alpha).Compute(tensor(x), tensor(labels)).item<float>(), 4);
    }

    [Fact]
    public void Soft_nearest_neighbour_matches_its_formula_and_falls_as_classes_separate()
    {
        using var scope = NewDisposeScope();
        var x = Random(7, 2, 4);
        long[] labels = [0, 1, 0, 1, 2, 0, 1];
        double t = 0.5;
        var r = Enumerable.Range(0, 7).Select(i => Row(x, i, false)).ToArray();
        double total = 0;
        int count = 0;
        for (int i = 0; i < 7; i++)
        {
            var same = Enumerable.Range(0, 7).Where(j => j != i && labels[j] == labels[i]).ToList();
            if (same.Count == 0) continue;
            double num = same.Sum(j => Math.Exp(-Dist2(r[i], r[j]) / t));
            double den = Enumerable.Range(0, 7).Where(k => k != i).Sum(k => Math.Exp(-Dist2(r[i], r[k]) / t));
            total += -Math.Log(num / den);
            count++;
        }
        Assert.Equal(total / count, new SoftNearestNeighbourLoss(t).Compute(tensor(x), tensor(labels)).item<float>(), 4);

        var close = tensor(new float[,] { { 0, 0 }, { 0.1f, 0 }, { 5, 5 }, { 5.1f, 5 } });
        var far = tensor(new float[,] { { 0, 0 }, { 5, 5 }, { 0.1f, 0 }, { 5.1f, 5 } });
        var y = tensor(new long[] { 0, 0, 1, 1 });
        Assert.True(new SoftNearestNeighbourLoss().Compute(close, y).item<float>() < new SoftNearestNeighbourLoss().Compute(far, y).item<float>());
    }

    [Fact]
    public void Byol_loss_is_two_minus_two_cosine_and_stops_the_target_gradient()
    {
        using var scope = NewDisposeScope();
        var p = tensor(Random(4, 3, 5), requires_grad: true);
        var z = tensor(Random(4, 3, 6), requires_grad: true);
        double expected = Enumerable.Range(0, 4).Average(i =>
        {
            var a = Row(Random(4, 3, 5), i, true);
            var b = Row(Random(4, 3, 6), i, true);
            return Dist2(a, b); // ‖p̂ − ẑ‖² = 2 − 2 cos
        });
        var loss = ByolLoss.Compute(p, z);
        Assert.Equal(expected, loss.item<float>(), 5);
        loss.backward();
        Assert.True(p.grad!.abs().sum().item<float>() > 0);
        Assert.Null(z.grad);
    }
}
