using Contrastive.Augment;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>SimCLR: two views of each image, an encoder and projection head, NT-Xent over the batch's 2n projections.</summary>
public sealed class SimClrMethod : IContrastiveMethod, IRepresentationLoss
{
    private readonly Device _device;
    private readonly NtXentLoss _loss;

    public SimClrMethod(MethodContext context, SimClrOptions options)
    {
        _device = context.Device;
        Network = ImageModels.Create(context, options.ProjectionDim);
        _loss = new NtXentLoss(options.Temperature);
        Parameters = Network.parameters().ToArray();
    }

    public SimClrModel Network { get; }

    public nn.Module Model => Network;

    public IReadOnlyList<Parameter> Parameters { get; }

    public Tensor Loss(Batch batch, double progress) => LossOn(Encode(Inputs(batch)), batch);

    public Tensor Inputs(Batch batch)
    {
        ImageModels.RequirePairs(batch, "simclr");
        return ImageInput.ToTensor(batch, _device, 0, 2);
    }

    public Tensor Encode(Tensor rows) => Network.forward(rows);

    public Tensor LossOn(Tensor z, Batch batch)
    {
        int n = batch.Count;
        return _loss.Compute(z.narrow(0, 0, n), z.narrow(0, n, n));
    }

    public Tensor Embed(Batch batch) => ImageModels.Embed(Network.Encoder, batch, _device);

    public void Dispose() => Network.Dispose();
}

/// <summary>SimCLR's entry in the <see cref="MethodRegistry"/>.</summary>
public sealed class SimClrRegistration : MethodRegistration<SimClrOptions>
{
    public override string Name => "simclr";

    public override string Summary => "SimCLR (Chen et al. 2020): NT-Xent between two augmented views, the batch's other views as negatives.";

    public override MethodData Data => MethodData.Images;

    public override string Section => "SimClr";

    public override bool SupportsGradCache => true;

    public override string ViewsDescription => "2 views (SimCLR augmentation, section Augment)";

    protected override IViewPolicy? Views(SimClrOptions options, ViewSettings views) => new SimClrViewPolicy(views.Augment);

    protected override IContrastiveMethod Create(MethodContext context, SimClrOptions options) => new SimClrMethod(context, options);
}
