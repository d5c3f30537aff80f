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

    public MomentumContrast Contrast { get; }

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

    public override byte[] SaveState() => Contrast.SaveState();

    public override void LoadState(byte[] state) => Contrast.LoadState(state);

    protected override void Dispose(bool disposing)
    {
        if (disposing) Contrast.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>MoCo's entry in the <see cref="MethodRegistry"/>.</summary>
public sealed class MocoRegistration : MethodRegistration<MocoOptions>
{
    public override string Name => "moco";

    public override string Summary => "MoCo v2 (He et al. 2020; Chen et al. 2020): a momentum key encoder and a queue of past keys as negatives.";

    public override MethodData Data => MethodData.Images;

    public override string Section => "Moco";

    public override IReadOnlyList<MethodFlag> Flags { get; } = [new("--moco-queue", "Moco:Queue", "moco: keys in the queue of negatives.")];

    public override string ViewsDescription => "2 views (SimCLR augmentation, section Augment)";

    protected override IViewPolicy? Views(MocoOptions options, ViewSettings views) => new SimClrViewPolicy(views.Augment);

    protected override IContrastiveMethod Create(MethodContext context, MocoOptions options) => new MocoMethod(context, options);
}
