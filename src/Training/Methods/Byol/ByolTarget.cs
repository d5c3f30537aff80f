using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// BYOL (Grill et al. 2020): the online network (encoder, projector) gets a predictor MLP and regresses the target
/// network's projection of the other view, symmetrically: loss = ℓ(p₁, z′₂) + ℓ(p₂, z′₁) with ℓ = 2 − 2·cos. The target
/// follows the online network by an exponential moving average whose rate τ rises on a cosine from
/// <see cref="BaseTau"/> to 1 over training: τ = 1 − (1 − τ_base)·(cos(π·progress) + 1) / 2. No negatives.
/// </summary>
internal sealed class ByolTarget : IDisposable
{
    public ByolTarget(ProjectedEncoder online, Func<ProjectedEncoder> create, int dim, int hidden, double baseTau, Device device)
    {
        if (baseTau is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(baseTau), "τ must be in [0, 1]");
        BaseTau = baseTau;
        Predictor = new ProjectionHead(dim, hidden, dim);
        Predictor.to(device);
        Target = create();
        ModuleState.Copy(online, Target);
        Target.to(device);
        foreach (var p in Target.parameters()) p.requires_grad = false;
    }

    public double BaseTau { get; }

    public ProjectionHead Predictor { get; }

    public ProjectedEncoder Target { get; }

    /// <summary>τ at training progress <paramref name="progress"/> ∈ [0, 1].</summary>
    public double Tau(double progress) => MovingAverage.CosineRate(BaseTau, progress);

    /// <summary>The symmetric loss for views 1 and 2 of <paramref name="n"/> samples in <paramref name="x"/> [2n, 3, S, S].</summary>
    public Tensor Loss(ProjectedEncoder online, Tensor x, int n)
    {
        using var scope = NewDisposeScope();
        var p = Predictor.forward(online.forward(x));
        Tensor z;
        using (no_grad())
        {
            Target.train();
            z = Target.forward(x);
        }
        var loss = ByolLoss.Compute(p.narrow(0, 0, n), z.narrow(0, n, n)) + ByolLoss.Compute(p.narrow(0, n, n), z.narrow(0, 0, n));
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>After the optimizer step: θ_target ← τ·θ_target + (1 − τ)·θ_online.</summary>
    public void UpdateTarget(ProjectedEncoder online, double progress)
    {
        MovingAverage.Update(Target.parameters(), online.parameters(), Tau(progress));
    }

    public byte[] SaveState() => StateParts.Write(w =>
    {
        StateParts.WriteModule(w, Predictor);
        StateParts.WriteModule(w, Target);
    });

    public void LoadState(byte[] state)
    {
        using var ms = new MemoryStream(state);
        using var r = new BinaryReader(ms);
        StateParts.ReadModule(r, Predictor);
        StateParts.ReadModule(r, Target);
    }

    public void Dispose()
    {
        Predictor.Dispose();
        Target.Dispose();
    }
}
