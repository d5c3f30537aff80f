using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>The optimizer a trainer steps: TorchSharp's (SGD, AdamW) or <see cref="Lars"/>, with its state as bytes for checkpoints.</summary>
public abstract class StepOptimizer : IDisposable
{
    public abstract void ZeroGrad();

    public abstract void Step();

    public abstract void SetLearningRate(double lr);

    public abstract byte[] SaveState();

    public abstract void LoadState(byte[] state);

    public abstract void Dispose();

    /// <summary>"sgd" (momentum 0.9, Nesterov), "adamw" or "lars" (momentum 0.9, trust coefficient 0.001; biases and norm
    /// parameters excluded from adaptation and weight decay) over <paramref name="module"/>'s parameters.</summary>
    public static StepOptimizer Create(string name, nn.Module module, double lr, double weightDecay) => Create(name, module.parameters(), lr, weightDecay);

    /// <summary>As <see cref="Create(string, nn.Module, double, double)"/>, over the given parameters.</summary>
    public static StepOptimizer Create(string name, IEnumerable<TorchSharp.Modules.Parameter> parameters, double lr, double weightDecay) => name switch
    {
        "sgd" => new Torch(optim.SGD(parameters, lr, momentum: 0.9, weight_decay: weightDecay, nesterov: true)),
        "adamw" => new Torch(optim.AdamW(parameters, lr, weight_decay: weightDecay)),
        "lars" => new Lars(parameters, lr, weightDecay: weightDecay),
        _ => throw new ArgumentException($"Unknown optimizer '{name}': use sgd, adamw or lars."),
    };

    private sealed class Torch(optim.Optimizer inner) : StepOptimizer
    {
        public override void ZeroGrad() => inner.zero_grad();

        public override void Step() => inner.step();

        public override void SetLearningRate(double lr)
        {
            foreach (var group in inner.ParamGroups) group.LearningRate = lr;
        }

        public override byte[] SaveState()
        {
            using var ms = new MemoryStream();
            using (var writer = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true))
                ((TorchSharp.Modules.OptimizerHelper)inner).save_state_dict(writer);
            return ms.ToArray();
        }

        public override void LoadState(byte[] state)
        {
            using var ms = new MemoryStream(state);
            using var reader = new BinaryReader(ms);
            ((TorchSharp.Modules.OptimizerHelper)inner).load_state_dict(reader);
        }

        public override void Dispose() => inner.Dispose();
    }
}
