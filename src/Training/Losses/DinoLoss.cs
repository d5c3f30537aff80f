using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// DINO's self-distillation loss: for each teacher view t (the global views) and each student view s ≠ t, the cross-entropy
/// H(P_t, P_s) = −Σ_k P_t,k · log P_s,k with P_t = softmax((g_t − c) / τ_t) (centred and sharpened, no gradient) and
/// P_s = softmax(g_s / τ_s), averaged over samples and over the pairs.
/// </summary>
public static class DinoLoss
{
    /// <param name="student">Student outputs, view-major: [V × n, K] (views 0 and 1 are the global ones).</param>
    /// <param name="teacher">Teacher outputs of the global views, view-major: [G × n, K].</param>
    /// <param name="center">The running centre [K] (or [1, K]).</param>
    public static Tensor Compute(Tensor student, Tensor teacher, Tensor center, int n, double studentTemperature, double teacherTemperature)
    {
        using var scope = NewDisposeScope();
        long views = student.shape[0] / n, globals = teacher.shape[0] / n;
        var logP = nn.functional.log_softmax(student / studentTemperature, dim: -1);
        var q = nn.functional.softmax((teacher.detach() - center) / teacherTemperature, dim: -1);
        Tensor? total = null;
        int terms = 0;
        for (long t = 0; t < globals; t++)
        {
            var qt = q.narrow(0, t * n, n);
            for (long v = 0; v < views; v++)
            {
                if (v == t) continue;
                var term = (-(qt * logP.narrow(0, v * n, n)).sum(-1)).mean();
                total = total is null ? term : total + term;
                terms++;
            }
        }
        if (total is null) throw new ArgumentException("DINO needs at least two views");
        return (total / terms).MoveToOuterDisposeScope();
    }

    /// <summary>The centre's update: c ← m·c + (1 − m)·mean of the teacher outputs over the batch.</summary>
    public static void UpdateCenter(Tensor center, Tensor teacher, double momentum, IProcessGroup? group = null)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var mean = teacher.mean([0], keepdim: true);
        if (group is { WorldSize: > 1 })
        {
            // The global batch's mean: every rank has as many teacher outputs.
            group.AllReduceInPlace(mean, ReduceOp.Sum);
            mean.div_(group.WorldSize);
        }
        center.mul_(momentum).add_(mean, alpha: 1 - momentum);
    }
}
