using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// LARS (You et al. 2017) as SimCLR uses it: for each weight matrix or kernel, the gradient plus weight decay is scaled by
/// the trust ratio η‖w‖ / ‖g + λw‖ before momentum; biases and normalisation parameters (every 1-D parameter) are
/// excluded from both the adaptation and the weight decay. v ← m·v + lr·ratio·(g + λw); w ← w − v.
/// </summary>
public sealed class Lars : StepOptimizer
{
    private readonly Parameter[] _params;
    private readonly Tensor?[] _velocity;

    public Lars(IEnumerable<Parameter> parameters, double lr, double momentum = 0.9, double weightDecay = 1e-6, double trustCoefficient = 0.001)
    {
        _params = parameters.ToArray();
        _velocity = new Tensor?[_params.Length];
        LearningRate = lr;
        Momentum = momentum;
        WeightDecay = weightDecay;
        TrustCoefficient = trustCoefficient;
    }

    public double LearningRate { get; private set; }

    public double Momentum { get; }

    public double WeightDecay { get; }

    public double TrustCoefficient { get; }

    /// <summary>Whether a parameter takes part in the adaptation and the weight decay (not a bias or a norm parameter).</summary>
    public static bool Adapted(Parameter p) => p.dim() > 1;

    public override void SetLearningRate(double lr) => LearningRate = lr;

    public override void ZeroGrad()
    {
        foreach (var p in _params) p.grad?.zero_();
    }

    public override void Step()
    {
        using var _ = no_grad();
        for (int i = 0; i < _params.Length; i++)
        {
            var p = _params[i];
            if (p.grad is not { } grad) continue;
            using var scope = NewDisposeScope();
            var g = grad;
            double ratio = 1;
            if (Adapted(p))
            {
                if (WeightDecay != 0) g = g.add(p, alpha: WeightDecay);
                double w = p.norm().item<float>(), gn = g.norm().item<float>();
                if (w > 0 && gn > 0) ratio = TrustCoefficient * w / gn;
            }
            var update = g.mul(LearningRate * ratio);
            if (_velocity[i] is { } v) v.mul_(Momentum).add_(update);
            else _velocity[i] = update.detach().clone().DetachFromDisposeScope();
            p.sub_(_velocity[i]!);
        }
    }

    public override byte[] SaveState()
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            w.Write(_params.Length);
            foreach (var v in _velocity)
            {
                w.Write(v is not null);
                if (v is null) continue;
                var data = v.cpu().data<float>().ToArray();
                w.Write(data.Length);
                foreach (var x in data) w.Write(x);
            }
        }
        return ms.ToArray();
    }

    public override void LoadState(byte[] state)
    {
        using var ms = new MemoryStream(state);
        using var r = new BinaryReader(ms);
        int n = r.ReadInt32();
        if (n != _params.Length) throw new InvalidDataException($"the LARS state has {n} parameters, the model {_params.Length}");
        for (int i = 0; i < n; i++)
        {
            _velocity[i]?.Dispose();
            _velocity[i] = null;
            if (!r.ReadBoolean()) continue;
            int len = r.ReadInt32();
            if (len != _params[i].numel()) throw new InvalidDataException($"the LARS state of parameter {i} has {len} values, the parameter {_params[i].numel()}");
            var data = new float[len];
            for (int k = 0; k < len; k++) data[k] = r.ReadSingle();
            _velocity[i] = tensor(data).reshape(_params[i].shape).to(_params[i].device).DetachFromDisposeScope();
        }
    }

    public override void Dispose()
    {
        foreach (var v in _velocity) v?.Dispose();
    }
}
