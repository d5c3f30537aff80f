using Contrastive.Augment;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>MoCo v2: a momentum key network and a queue of its past keys as negatives (<see cref="MomentumContrast"/>).</summary>
public sealed class MocoMethod : ImageMethod
{
    private Tensor? _keys; // this step's keys, enqueued after the optimizer step

    private readonly IProcessGroup _group;

    public MocoMethod(MethodContext context, MocoOptions options) : base(context, options.ProjectionDim)
    {
        _group = context.Group;
        Contrast = new MomentumContrast(Network, ImageModels.Factory(context, options.ProjectionDim), options.Queue, options.Momentum, options.Temperature,
            options.ProjectionDim, context.Training.Seed, context.Device);
        Parameters = Network.parameters().ToArray();
    }

    internal MomentumContrast Contrast { get; }

    public override IReadOnlyList<Parameter> Parameters { get; }

    public override Tensor Loss(Batch batch, double progress)
    {
        var loss = Contrast.Loss(Network, Pairs(batch, "moco"), batch.Count, out var keys);
        _keys = keys;
        return loss;
    }

    public override void AfterStep(double progress)
    {
        Contrast.UpdateKey(Network);
        // Every rank's keys join the queue (rank order), so the queues stay identical across ranks.
        if (_keys is { } keys)
        {
            using var all = _group.AllGather(keys);
            Contrast.Enqueue(all);
        }
        _keys = null;
    }

    public override void ModelReplaced() => ModuleState.Copy(Network, Contrast.Key);

    public override byte[] SaveState() => Contrast.SaveState();

    public override void LoadState(byte[] state) => Contrast.LoadState(state);

    protected override void Dispose(bool disposing)
    {
        if (disposing) Contrast.Dispose();
        base.Dispose(disposing);
    }
}
