using System.ComponentModel.DataAnnotations;
using Contrastive.Training;
using static TorchSharp.torch;

namespace Contrastive.Host.Tests;

/// <summary>
/// A method that exists only in the test project, written as docs/methods.md "Adding a method" says: its options, the
/// method and its registration in one folder, with a flag of its own. It proves that a method outside the libraries trains,
/// checkpoints and takes its flag through `train` and the service with no change to the CLI.
/// </summary>
public sealed class ScaledPairOptions
{
    /// <summary>The NT-Xent temperature. Default 0.5.</summary>
    [Range(0.01, 10.0)]
    public double Temperature { get; set; } = 0.5;

    /// <summary>Projection head output size. Default 32.</summary>
    [Range(2, 1024)]
    public int ProjectionDim { get; set; } = 32;
}

/// <summary>Two views, NT-Xent at the method's own temperature.</summary>
public sealed class ScaledPairMethod(MethodContext context, ScaledPairOptions options) : PairContrastMethod(context, options.ProjectionDim, "scaledpair")
{
    private readonly NtXentLoss _loss = new(options.Temperature);

    public override Tensor LossOn(Tensor z, Batch batch) => _loss.Compute(z.narrow(0, 0, batch.Count), z.narrow(0, batch.Count, batch.Count));
}

/// <summary>The registration, with the flag the method declares: --pair-temperature sets ScaledPair:Temperature.</summary>
public sealed class ScaledPairRegistration : MethodRegistration<ScaledPairOptions>
{
    public override string Name => "scaledpair";

    public override string Summary => "A test-only method: NT-Xent between two views at its own temperature.";

    public override MethodData Data => MethodData.Images;

    public override string Section => "ScaledPair";

    public override string ViewsDescription => "2 views (SimCLR augmentation, section Augment)";

    public override IReadOnlyList<MethodFlag> Flags { get; } = [new("--pair-temperature", "ScaledPair:Temperature", "scaledpair: the NT-Xent temperature.")];

    protected override IViewPolicy? Views(ScaledPairOptions options, ViewSettings views) => new SimClrViewPolicy(views.Augment);

    protected override IContrastiveMethod Create(MethodContext context, ScaledPairOptions options) => new ScaledPairMethod(context, options);
}
