using Contrastive.Augment;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>MoCo v2: a momentum key network and a queue of its past keys as negatives (<see cref="MomentumContrast"/>).</summary>
public sealed class MocoMethod : IContrastiveMethod
{
    private readonly Device _device;
    private Tensor? _keys; // this step's keys, enqueued after the optimizer step

    public MocoMethod(MethodContext context, MocoOptions options)
    {
        _device = context.Device;
        Network = ImageModels.Create(context, options.ProjectionDim);
        Contrast = new MomentumContrast(Network, () => new SimClrModel(context.Training.Encoder, context.Training.SmallImages,
            ImageModels.ProjectionHidden(context.Training.Encoder), options.ProjectionDim), options.Queue, options.Momentum, options.Temperature,
            options.ProjectionDim, context.Training.Seed, context.Device);
        Parameters = Network.parameters().ToArray();
    }

    public SimClrModel Network { get; }

    public MomentumContrast Contrast { get; }

    public nn.Module Model => Network;

    public IReadOnlyList<Parameter> Parameters { get; }

    public Tensor Loss(Batch batch, double progress)
    {
        ImageModels.RequirePairs(batch, "moco");
        var loss = Contrast.Loss(Network, ImageInput.ToTensor(batch, _device, 0, 2), batch.Count, out var keys);
        _keys = keys;
        return loss;
    }

    public void AfterStep(double progress)
    {
        Contrast.UpdateKey(Network);
        if (_keys is { } keys) Contrast.Enqueue(keys);
        _keys = null;
    }

    public byte[] SaveState() => Contrast.SaveState();

    public void LoadState(byte[] state) => Contrast.LoadState(state);

    public Tensor Embed(Batch batch) => ImageModels.Embed(Network.Encoder, batch, _device);

    public void Dispose()
    {
        Contrast.Dispose();
        Network.Dispose();
    }
}

/// <summary>MoCo's entry in the <see cref="MethodRegistry"/>.</summary>
public sealed class MocoRegistration : MethodRegistration<MocoOptions>
{
    public override string Name => "moco";

    public override string Summary => "MoCo v2 (He et al. 2020; Chen et al. 2020): a momentum key encoder and a queue of past keys as negatives.";

    public override MethodData Data => MethodData.Images;

    public override string Section => "Moco";

    public override string ViewsDescription => "2 views (SimCLR augmentation, section Augment)";

    protected override IViewPolicy? Views(MocoOptions options, ViewSettings views) => new SimClrViewPolicy(views.Augment);

    protected override IContrastiveMethod Create(MethodContext context, MocoOptions options) => new MocoMethod(context, options);
}
