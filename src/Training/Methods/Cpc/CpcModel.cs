using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Contrastive.Training;

/// <summary>Encoder, GRU context network and one linear predictor per step ahead.</summary>
public sealed class CpcModel : Module<Tensor, (Tensor Z, Tensor C)>
{
    public CpcModel(CpcModelOptions options) : base(nameof(CpcModel))
    {
        Options = options;
        Encoder = new CpcEncoder(options);
        Context = GRU(options.EncoderChannels, options.ContextDim, batchFirst: true);
        Predictors = new ModuleList<Linear>([.. Enumerable.Range(0, options.PredictionSteps).Select(_ => Linear(options.ContextDim, options.EncoderChannels, hasBias: false))]);
        RegisterComponents();
    }

    public CpcModelOptions Options { get; }

    public CpcEncoder Encoder { get; }

    public GRU Context { get; }

    public ModuleList<Linear> Predictors { get; }

    /// <summary>x [B, C, L] → z [B, T, D] (encodings) and c [B, T, H] (contexts).</summary>
    public override (Tensor Z, Tensor C) forward(Tensor x)
    {
        var z = Encoder.forward(x);
        var (c, h) = Context.forward(z);
        h.Dispose();
        return (z, c);
    }

    /// <summary>Features for a probe: the contexts averaged over time, [B, H].</summary>
    public Tensor Features(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (_, c) = forward(x);
        return c.mean([1L]).MoveToOuterDisposeScope();
    }
}
