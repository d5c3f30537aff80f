using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training.Tests;

public class CpcTests
{
    private static CpcModelOptions Small(int inputChannels = 1, int negatives = 8, bool same = false) => new()
    {
        InputChannels = inputChannels, EncoderChannels = 16, ContextDim = 12, PredictionSteps = 3, Negatives = negatives, SameSequenceNegatives = same,
    };

    [Theory]
    [InlineData(1600, 10)]
    [InlineData(20480, 128)]
    public void The_encoder_downsamples_160_times_and_keeps_batch_and_channels(int length, int steps)
    {
        using var scope = NewDisposeScope();
        var model = new CpcModel(Small(inputChannels: 2));
        Assert.Equal(160, model.Options.Downsampling);
        var (z, c) = model.forward(randn(3, 2, length));
        Assert.Equal(new long[] { 3, steps, 16 }, z.shape);
        Assert.Equal(new long[] { 3, steps, 12 }, c.shape);
        Assert.Equal(new long[] { 3, 12 }, model.Features(randn(3, 2, length)).shape);
    }

    [Fact]
    public void The_encoder_is_causal_enough_that_a_late_change_does_not_move_early_steps()
    {
        // Each layer sees at most its kernel and pads by kernel - stride: a change at the end of the input reaches
        // only the last few encoded steps, never the first ones.
        using var scope = NewDisposeScope();
        var model = new CpcModel(Small());
        model.eval();
        var x = randn(1, 1, 3200);
        var y = x.clone();
        y[0, 0, 3199] = tensor(100f);
        var (za, _) = model.forward(x);
        var (zb, _) = model.forward(y);
        Assert.True(za[0, ..10].allclose(zb[0, ..10]));
        Assert.False(za[0, 19].allclose(zb[0, 19]));
    }

    [Fact]
    public void InfoNce_matches_a_hand_computed_case()
    {
        using var scope = NewDisposeScope();
        var pred = tensor(new float[,] { { 1, 0 }, { 0, 1 } });
        var pos = tensor(new float[,] { { 2, 0 }, { 0, 1 } });
        var neg = tensor(new float[,,] { { { 1, 0 }, { 0, 3 } }, { { 0, 2 }, { 1, 1 } } });
        double loss = CpcLoss.InfoNce(pred, pos, neg, out var correct).item<float>();
        // Row 0: logits [2, 1, 0] → log(1 + e^-1 + e^-2); row 1: logits [1, 2, 1] → log(2 + e).
        double expected = (Math.Log(1 + Math.Exp(-1) + Math.Exp(-2)) + Math.Log(2 + Math.E)) / 2;
        Assert.Equal(expected, loss, 5);
        Assert.Equal(new[] { true, false }, correct.data<bool>().ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Negatives_come_from_other_sequences_or_at_least_never_the_positive(bool same)
    {
        using var scope = NewDisposeScope();
        var o = Small(negatives: 50, same: same);
        long b = 4, t = 9, steps = 7;
        int k = 2;
        var idx = CpcLoss.NegativeIndices(b, t, steps, k, o, new Generator(5), CPU);
        Assert.Equal(new long[] { b * steps, 50 }, idx.shape);
        var flat = idx.data<long>().ToArray();
        Assert.All(flat, v => Assert.InRange(v, 0, b * t - 1));
        for (long m = 0; m < b * steps; m++)
        {
            long seq = m / steps, step = m % steps, positive = seq * t + step + k;
            for (int j = 0; j < 50; j++)
            {
                long v = flat[m * 50 + j];
                Assert.NotEqual(positive, v);
                if (!same) Assert.NotEqual(seq, v / t);
            }
        }
        if (same) Assert.Contains(flat.Select((v, i) => (v, m: i / 50)), p => p.v / t == p.m / steps); // own sequence appears
    }

    [Fact]
    public void A_few_steps_on_predictable_signals_lower_the_loss_and_raise_accuracy()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(1);
        var model = new CpcModel(Small(negatives: 16));
        var opt = optim.Adam(model.parameters(), lr: 1e-2);
        // Sinusoids of per-sequence frequency and phase: the future is predictable from the past.
        var rng = new Random(3);
        Tensor Batch()
        {
            var data = new float[8 * 3200];
            for (int s = 0; s < 8; s++)
            {
                double f = 0.002 + 0.01 * rng.NextDouble(), ph = rng.NextDouble() * 6.28;
                for (int i = 0; i < 3200; i++) data[s * 3200 + i] = (float)Math.Sin(f * i * 6.28 + ph);
            }
            return tensor(data).reshape(8, 1, 3200);
        }
        var gen = new Generator(7);
        double first = 0, last = 0, lastAcc = 0;
        for (int step = 0; step < 80; step++)
        {
            using var s = NewDisposeScope();
            var (z, c) = model.forward(Batch());
            var loss = CpcLoss.Compute(model, z, c, gen, out var acc);
            opt.zero_grad();
            loss.backward();
            opt.step();
            if (step == 0) first = loss.item<float>();
            last = loss.item<float>();
            lastAcc = acc[0];
            Assert.Equal(3, acc.Length);
        }
        Assert.True(last < first - 0.4, $"loss {first:F3} → {last:F3}, accuracy {lastAcc:F3}");
        Assert.True(lastAcc > 1.3 / 17, $"step-1 accuracy {lastAcc:F3} is not above chance (1/17)");
    }
}
