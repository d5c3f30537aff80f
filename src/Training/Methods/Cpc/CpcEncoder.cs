using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Contrastive.Training;

/// <summary>
/// CPC's strided 1-D convolutional encoder: each layer pads by kernel − stride (split left/right) so that a series
/// of L steps (L a multiple of <see cref="CpcModelOptions.Downsampling"/>) encodes to exactly L / downsampling steps;
/// ReLU and a layer norm over channels at every time step (no statistics across time or across the batch).
/// Input [B, C, L] → z [B, T, D].
/// </summary>
public sealed class CpcEncoder : Module<Tensor, Tensor>
{
    private readonly ModuleList<Conv1d> _convs = new();
    private readonly ModuleList<LayerNorm> _norms = new();
    private readonly (int Left, int Right)[] _pads;

    public CpcEncoder(CpcModelOptions o) : base(nameof(CpcEncoder))
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
