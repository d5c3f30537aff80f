using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Contrastive.Training;

/// <summary>Sizes of a CPC model (van den Oord et al. 2018); the defaults are the paper's audio model.</summary>
public sealed record CpcOptions
{
    /// <summary>Input channels of the series.</summary>
    public int InputChannels { get; init; } = 1;

    /// <summary>Channels of every encoder layer (the paper: 512).</summary>
    public int EncoderChannels { get; init; } = 512;

    /// <summary>GRU hidden size of the autoregressive context (the paper: 256).</summary>
    public int ContextDim { get; init; } = 256;

    /// <summary>Steps ahead predicted, each with its own linear map W_k (the paper: 12).</summary>
    public int PredictionSteps { get; init; } = 12;

    /// <summary>Negatives drawn per prediction (the paper uses the other samples of the batch).</summary>
    public int Negatives { get; init; } = 128;

    /// <summary>Draw negatives from the same sequence too (other time steps), not only from other sequences.</summary>
    public bool SameSequenceNegatives { get; init; }

    /// <summary>(kernel, stride) of each encoder layer: 10/5, 8/4, 4/2, 4/2, 4/2 → 160× downsampling.</summary>
    public IReadOnlyList<(int Kernel, int Stride)> Layers { get; init; } = [(10, 5), (8, 4), (4, 2), (4, 2), (4, 2)];

    /// <summary>Input steps per encoded step: the product of the strides.</summary>
    public int Downsampling => Layers.Aggregate(1, (p, l) => p * l.Stride);
}

/// <summary>
/// CPC's strided 1-D convolutional encoder: each layer pads by kernel − stride (split left/right) so that a series
/// of L steps (L a multiple of <see cref="CpcOptions.Downsampling"/>) encodes to exactly L / downsampling steps;
/// ReLU and a layer norm over channels at every time step (no statistics across time or across the batch).
/// Input [B, C, L] → z [B, T, D].
/// </summary>
public sealed class CpcEncoder : Module<Tensor, Tensor>
{
    private readonly ModuleList<Conv1d> _convs = new();
    private readonly ModuleList<LayerNorm> _norms = new();
    private readonly (int Left, int Right)[] _pads;

    public CpcEncoder(CpcOptions o) : base(nameof(CpcEncoder))
    {
        int inC = o.InputChannels;
        _pads = new (int, int)[o.Layers.Count];
        for (int i = 0; i < o.Layers.Count; i++)
        {
            var (k, s) = o.Layers[i];
            if (k < s) throw new ArgumentException($"layer {i}: kernel {k} is smaller than stride {s}");
            _convs.Add(Conv1d(inC, o.EncoderChannels, k, stride: s));
            _norms.Add(LayerNorm(o.EncoderChannels));
            _pads[i] = ((k - s) / 2, k - s - (k - s) / 2);
            inC = o.EncoderChannels;
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = x;
        for (int i = 0; i < _convs.Count; i++)
        {
            var (l, r) = _pads[i];
            h = functional.pad(h, [l, r]);
            h = functional.relu(_convs[i].forward(h));
            h = _norms[i].forward(h.transpose(1, 2)).transpose(1, 2); // normalise channels per step
        }
        return h.transpose(1, 2).contiguous().MoveToOuterDisposeScope(); // [B, T, D]
    }
}

/// <summary>Encoder, GRU context network and one linear predictor per step ahead.</summary>
public sealed class CpcModel : Module<Tensor, (Tensor Z, Tensor C)>
{
    public CpcModel(CpcOptions options) : base(nameof(CpcModel))
    {
        Options = options;
        Encoder = new CpcEncoder(options);
        Context = GRU(options.EncoderChannels, options.ContextDim, batchFirst: true);
        Predictors = new ModuleList<Linear>([.. Enumerable.Range(0, options.PredictionSteps).Select(_ => Linear(options.ContextDim, options.EncoderChannels, hasBias: false))]);
        RegisterComponents();
    }

    public CpcOptions Options { get; }

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
