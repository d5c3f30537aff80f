using Contrastive.Training.Text;

namespace Contrastive.Training;

/// <summary>SimCSE's entry in the <see cref="MethodRegistry"/>.</summary>
public sealed class SimCseRegistration : MethodRegistration<SimCseOptions>
{
    public override string Name => "simcse";

    public override string Summary => "SimCSE (Gao et al. 2021): sentence embeddings from a text transformer, the same sentence encoded twice with dropout as the positive pair.";

    public override MethodData Data => MethodData.Text;

    public override string Section => "SimCse";

    public override string ViewsDescription => "no image view: each caption's tokens, encoded twice (dropout)";

    protected override ICaptionEncoder? CaptionEncoder(SimCseOptions options) => new CaptionTokenizer(options.ContextLength);

    protected override IContrastiveMethod Create(MethodContext context, SimCseOptions options) => new SimCseMethod(context, options);
}
