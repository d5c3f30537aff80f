using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// A sequence of layers like TorchSharp's <c>Sequential</c> (children registered as "0", "1", …, so checkpoints keep
/// Sequential's keys) whose forward goes through <see cref="Autocast.Forward"/>: fp32 unless a mixed-precision scope
/// is active on the thread.
/// </summary>
public sealed class Chain : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor>[] _layers;

    public Chain(params nn.Module<Tensor, Tensor>[] layers) : base(nameof(Chain))
    {
        if (layers.Length == 0) throw new ArgumentException("A chain needs at least one layer.", nameof(layers));
        _layers = layers;
        for (int i = 0; i < layers.Length; i++) register_module(i.ToString(System.Globalization.CultureInfo.InvariantCulture), layers[i]);
    }

    public Chain(IEnumerable<nn.Module<Tensor, Tensor>> layers) : this(layers.ToArray())
    {
    }

    public override Tensor forward(Tensor x)
    {
        // Intermediate results are freed as soon as the next layer has consumed them (autograd keeps what it needs).
        var current = Autocast.Forward(_layers[0], x);
        for (int i = 1; i < _layers.Length; i++)
        {
            var next = Autocast.Forward(_layers[i], current);
            if (!ReferenceEquals(next, current) && !ReferenceEquals(current, x)) current.Dispose();
            current = next;
        }
        if (Autocast.Compute is null) return current;
        var result = Autocast.Output(current);
        if (!ReferenceEquals(result, current) && !ReferenceEquals(current, x)) current.Dispose();
        return result;
    }
}
