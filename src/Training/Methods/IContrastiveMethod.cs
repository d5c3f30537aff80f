using Contrastive.Augment;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// One self-supervised method, as the shared <see cref="ContrastiveTrainer"/> drives it: the modules it trains, its loss
/// on a batch, what it updates after each optimizer step (a moving-average target, a queue, a centre), its own state for
/// checkpoints and the embedding evaluation uses. Its <see cref="MethodRegistration"/> says which data and views it needs.
/// Everything all methods share (optimizer, schedule, clipping, precision, gradient caching, checkpoints) is the trainer's.
/// </summary>
public interface IContrastiveMethod : IDisposable
{
    /// <summary>The network whose weights are a checkpoint's model (evaluation loads it back into a fresh method).</summary>
    nn.Module Model { get; }

    /// <summary>The parameters the optimizer trains (targets, teachers and key networks are not among them).</summary>
    IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>The loss of one training batch, with its graph (the trainer runs backward). <paramref name="progress"/> ∈ [0, 1].</summary>
    Tensor Loss(Batch batch, double progress);

    /// <summary>After the optimizer step: moving-average targets, queues, centres. <paramref name="progress"/> ∈ [0, 1].</summary>
    void AfterStep(double progress) { }

    /// <summary>After <see cref="Model"/>'s weights were replaced from outside (train --init-from): target, teacher and key networks take them again.</summary>
    void ModelReplaced() { }

    /// <summary>State beyond the model's weights (targets, queues, centres, predictors); empty when there is none.</summary>
    byte[] SaveState() => [];

    /// <summary>Restores what <see cref="SaveState"/> wrote.</summary>
    void LoadState(byte[] state) { }

    /// <summary>Features for evaluation (kNN, linear probe) of a batch's first view, [Count, D], without a graph.</summary>
    Tensor Embed(Batch batch);

    /// <summary>Gradient-norm clipping when the run sets none (DINO: 3, the paper's); 0 = none.</summary>
    double DefaultClipGradNorm => 0;

    /// <summary>Figures of the last step beyond the loss, for the metrics log (CPC: accuracy per step ahead).</summary>
    IReadOnlyList<(string Name, double Value)> LastMetrics => [];
}
