using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training.Tests;

public class LarsTests
{
    /// <summary>A weight [2, 2] and a bias [2] with given values and gradients.</summary>
    private static (nn.Module<Tensor, Tensor> Layer, TorchSharp.Modules.Parameter W, TorchSharp.Modules.Parameter B) Layer()
    {
        var layer = nn.Linear(2, 2);
        using (no_grad())
        {
            layer.weight!.copy_(tensor(new float[,] { { 3, 0 }, { 0, 4 } }));
            layer.bias!.copy_(tensor(new float[] { 1, -1 }));
        }
        return (layer, layer.weight!, layer.bias!);
    }

    private static void SetGrads(TorchSharp.Modules.Parameter w, TorchSharp.Modules.Parameter b, float scale)
    {
        w.grad = tensor(new float[,] { { 0, 1 }, { 1, 0 } }) * scale;
        b.grad = tensor(new float[] { 0.5f, 0.5f }) * scale;
    }

    [Fact]
    public void Weights_move_by_the_trust_ratio_and_biases_by_plain_momentum_sgd()
    {
        using var scope = NewDisposeScope();
        var (layer, w, b) = Layer();
        using var lars = new Lars(layer.parameters(), lr: 0.1, momentum: 0.9, weightDecay: 0.01, trustCoefficient: 0.001);
        Assert.True(Lars.Adapted(w));
        Assert.False(Lars.Adapted(b));

        // Step 1. Weight: g + λw = [[0.03, 1], [1, 0.04]]; ‖w‖ = 5, ‖g + λw‖ = sqrt(0.0009 + 1 + 1 + 0.0016) = 1.4151;
        // ratio = 0.001 · 5 / 1.4151; v = 0.1 · ratio · (g + λw); w ← w − v. Bias: no decay, ratio 1: v = 0.1 · g.
        SetGrads(w, b, 1);
        lars.Step();
        double gn = Math.Sqrt(0.03 * 0.03 + 1 + 1 + 0.04 * 0.04), ratio = 0.001 * 5 / gn;
        double[,] v1 = { { 0.1 * ratio * 0.03, 0.1 * ratio * 1 }, { 0.1 * ratio * 1, 0.1 * ratio * 0.04 } };
        var expectW = new[] { 3 - v1[0, 0], -v1[0, 1], -v1[1, 0], 4 - v1[1, 1] };
        Assert.Equal(expectW, w.data<float>().ToArray().Select(x => (double)x), new Tolerance(1e-6));
        Assert.Equal(new[] { 1 - 0.05, -1 - 0.05 }, b.data<float>().ToArray().Select(x => (double)x), new Tolerance(1e-6));

        // Step 2 with twice the gradients: the bias's velocity is 0.9 · 0.05 + 0.1 · 1.0.
        SetGrads(w, b, 2);
        lars.Step();
        Assert.Equal(new[] { 1 - 0.05 - (0.045 + 0.1), -1 - 0.05 - (0.045 + 0.1) }, b.data<float>().ToArray().Select(x => (double)x), new Tolerance(1e-6));
    }

    [Fact]
    public void Saved_state_resumes_the_same_next_step()
    {
        using var scope = NewDisposeScope();
        var (a, wa, ba) = Layer();
        var (b, wb, bb) = Layer();
        using var la = new Lars(a.parameters(), 0.1, weightDecay: 0.01);
        using var lb = new Lars(b.parameters(), 0.1, weightDecay: 0.01);
        SetGrads(wa, ba, 1);
        la.Step();
        SetGrads(wb, bb, 1);
        lb.Step();
        var state = la.SaveState();
        using var lc = new Lars(b.parameters(), 0.1, weightDecay: 0.01);
        lc.LoadState(state);
        SetGrads(wa, ba, 3);
        la.Step();
        SetGrads(wb, bb, 3);
        lc.Step();
        Assert.Equal(wa.data<float>().ToArray(), wb.data<float>().ToArray());
        Assert.Equal(ba.data<float>().ToArray(), bb.data<float>().ToArray());
        Assert.Throws<InvalidDataException>(() => new Lars([wa], 0.1).LoadState(state));
    }

    private sealed class Tolerance(double eps) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= eps;
        public int GetHashCode(double obj) => 0;
    }
}
