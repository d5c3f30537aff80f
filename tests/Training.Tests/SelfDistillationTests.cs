using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training.Tests;

public class SelfDistillationTests
{
    private static Tensor ToTensor(float[,] m) => tensor(m);

    /// <summary>DINO's loss computed with plain loops in double precision.</summary>
    private static double Reference(float[,] student, float[,] teacher, float[] center, int n, double ts, double tt)
    {
        int k = student.GetLength(1), views = student.GetLength(0) / n, globals = teacher.GetLength(0) / n;
        double[] Softmax(float[,] m, int row, double temperature, float[]? c)
        {
            var e = new double[k];
            double max = double.NegativeInfinity;
            for (int j = 0; j < k; j++) max = Math.Max(max, (m[row, j] - (c?[j] ?? 0)) / temperature);
            double sum = 0;
            for (int j = 0; j < k; j++) sum += e[j] = Math.Exp((m[row, j] - (c?[j] ?? 0)) / temperature - max);
            for (int j = 0; j < k; j++) e[j] /= sum;
            return e;
        }
        double total = 0;
        int terms = 0;
        for (int t = 0; t < globals; t++)
            for (int v = 0; v < views; v++)
            {
                if (v == t) continue;
                double mean = 0;
                for (int i = 0; i < n; i++)
                {
                    var q = Softmax(teacher, t * n + i, tt, center);
                    var p = Softmax(student, v * n + i, ts, null);
                    for (int j = 0; j < k; j++) mean -= q[j] * Math.Log(p[j]);
                }
                total += mean / n;
                terms++;
            }
        return total / terms;
    }

    [Theory]
    [InlineData(2, 3)]  // global views only
    [InlineData(5, 4)]  // 2 global + 3 local
    public void The_loss_matches_a_plain_computation_of_the_cross_entropies(int views, int n)
    {
        using var scope = NewDisposeScope();
        const int k = 7;
        var student = TestMatrices.Random(views * n, k, 11);
        var teacher = TestMatrices.Random(2 * n, k, 12);
        var center = new float[k];
        for (int j = 0; j < k; j++) center[j] = 0.1f * j - 0.2f;
        double expect = Reference(student, teacher, center, n, 0.1, 0.04);
        var loss = DinoLoss.Compute(ToTensor(student), ToTensor(teacher), tensor(center).view(1, k), n, 0.1, 0.04);
        Assert.Equal(expect, loss.item<float>(), 3);
    }

    [Fact]
    public void A_hand_checked_case_and_the_centre_update()
    {
        using var scope = NewDisposeScope();
        // Two views, one sample, two outputs. Teacher view 0 = (ln 3, 0) at temperature 1: P_t = (3/4, 1/4).
        // Student view 1 = (0, 0): log P_s = (ln ½, ln ½). H = −(¾ ln ½ + ¼ ln ½) = ln 2, and the same for the swapped pair.
        var student = tensor(new float[,] { { 5, -5 }, { 0, 0 } });
        var teacher = tensor(new float[,] { { MathF.Log(3), 0 }, { 0, 0 } });
        var loss = DinoLoss.Compute(student, teacher, zeros(1, 2), 1, 1.0, 1.0);
        // Pair (t0, s1): ln 2. Pair (t1, s0): P_t = (½, ½), log P_s = log softmax(5, −5) → −½(ln σ(10) + ln σ(−10)).
        double s0 = -0.5 * (Math.Log(1 / (1 + Math.Exp(-10))) + Math.Log(1 / (1 + Math.Exp(10))));
        Assert.Equal((Math.Log(2) + s0) / 2, loss.item<float>(), 4);

        var center = zeros(1, 2);
        DinoLoss.UpdateCenter(center, tensor(new float[,] { { 1, 3 }, { 3, 5 } }), 0.9);
        Assert.Equal(new[] { 0.2f, 0.4f }, center.data<float>().ToArray());
    }

    [Fact]
    public void Truncated_normal_initialisation_has_the_spread_it_should()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(7);
        var t = empty(4096, 64);
        DinoHead.TruncatedNormal(t, 0.02);
        Assert.True(t.abs().max().item<float>() <= 0.04f);
        Assert.InRange(t.mean().item<float>(), -0.001, 0.001);
        Assert.InRange(t.std().item<float>(), 0.0170, 0.0182); // σ·0.880, the standard deviation of N(0, σ²) cut at ±2σ
    }

    [Fact]
    public void The_head_gives_cosines_to_the_prototypes_whatever_their_norm()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(5);
        using var head = new DinoHead(8, 16, 4, 10);
        var x = randn(3, 8);
        var y = head.forward(x);
        Assert.Equal(new long[] { 3, 10 }, y.shape);
        Assert.True(y.std().item<float>() > 0.05f, $"head outputs barely vary: std {y.std().item<float>()}");
        Assert.True(y.abs().max().item<float>() <= 1.0001f);
        using (no_grad()) head.parameters().Last().mul_(7f); // the prototypes: scaling them changes nothing
        Assert.True(y.allclose(head.forward(x), atol: 1e-5));
    }

    [Fact]
    public void The_teacher_follows_the_student_by_its_momentum_and_gets_no_gradient_and_state_round_trips()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(6);
        ProjectedEncoder Make() => new("convnet", true, 32, 8);
        using var student = Make();
        using var dino = new SelfDistillation(student, Make, hidden: 16, bottleneck: 8, outputDim: 12, baseMomentum: 0.99,
            studentTemperature: 0.1, teacherTemperature: 0.04, centerMomentum: 0.9, CPU);
        Assert.Equal(0.99, dino.Momentum(0), 12);
        Assert.Equal(0.995, dino.Momentum(0.5), 12);
        Assert.Equal(1.0, dino.Momentum(1), 12);

        var global = randn(2 * 4, 3, 16, 16);
        var local = randn(3 * 4, 3, 8, 8);
        var loss = dino.Loss(student.Encoder, global, local, 4);
        loss.backward();
        Assert.Contains(student.Encoder.parameters(), p => p.grad is not null && p.grad.abs().sum().item<float>() > 0);
        Assert.Contains(dino.StudentHead.parameters(), p => p.grad is not null && p.grad.abs().sum().item<float>() > 0);
        Assert.All(dino.TeacherModel.parameters().Concat(dino.TeacherHead.parameters()), p => Assert.True(p.grad is null));
        Assert.True(dino.Center.abs().sum().item<float>() > 0); // the centre moved towards this batch's teacher mean

        var t0 = dino.TeacherHead.parameters().First().data<float>().ToArray();
        using (no_grad()) foreach (var p in dino.StudentHead.parameters()) p.add_(1f);
        var s1 = dino.StudentHead.parameters().First().data<float>().ToArray();
        dino.UpdateTeacher(student.Encoder, 0.5);
        var t1 = dino.TeacherHead.parameters().First().data<float>().ToArray();
        for (int i = 0; i < t1.Length; i++) Assert.Equal(0.995f * t0[i] + 0.005f * s1[i], t1[i], 1e-5f);

        var state = dino.SaveState();
        using var other = new SelfDistillation(Make(), Make, 16, 8, 12, 0.9, 0.1, 0.04, 0.9, CPU);
        other.LoadState(state);
        Assert.Equal(dino.Center.data<float>().ToArray(), other.Center.data<float>().ToArray());
        Assert.Equal(dino.TeacherHead.parameters().Last().data<float>().ToArray(), other.TeacherHead.parameters().Last().data<float>().ToArray());
        Assert.Equal(dino.TeacherModel.parameters().First().data<float>().ToArray(), other.TeacherModel.parameters().First().data<float>().ToArray());
    }
}

public class MultiCropInputTests
{
    [Fact]
    public void Global_and_local_views_become_two_tensors_of_their_own_sizes_with_the_slot_bytes()
    {
        using var scope = NewDisposeScope();
        var batch = new Batch(5, 4, 3 * 10 * 10, 10, viewSizes: [10, 10, 4, 4, 4]) { Count = 3 }; // a partial batch
        new Random(3).NextBytes(batch.Pixels);

        var global = ImageInput.ToTensor(batch, CPU, 0, 2);
        var local = ImageInput.ToTensor(batch, CPU, 2, 3);
        Assert.Equal(new long[] { 6, 3, 10, 10 }, global.shape);
        Assert.Equal(new long[] { 9, 3, 4, 4 }, local.shape);
        float[] mean = [0.485f, 0.456f, 0.406f], std = [0.229f, 0.224f, 0.225f];
        // Local view 3 (the second local one) of sample 2, channel 1, pixel (2, 3): row (3 − 2) × 3 + 2 of the local tensor.
        byte raw = batch.ViewSlot(3, 2)[1 * 16 + 2 * 4 + 3];
        Assert.Equal((raw / 255f - mean[1]) / std[1], local[1 * 3 + 2, 1, 2, 3].item<float>(), 5);
        raw = batch.ViewSlot(1, 0)[2 * 100 + 9 * 10 + 0];
        Assert.Equal((raw / 255f - mean[2]) / std[2], global[1 * 3 + 0, 2, 9, 0].item<float>(), 5);
        Assert.Throws<ArgumentException>(() => ImageInput.ToTensor(batch, CPU, 1, 2)); // views of two sizes
    }
}
