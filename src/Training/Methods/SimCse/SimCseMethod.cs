using System.ComponentModel.DataAnnotations;
using Contrastive.Augment;
using Contrastive.Training.Text;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// SimCSE: every sentence of the batch encoded twice by the same tower in training mode, so that dropout makes two
/// views; the cross-entropy of each first encoding against all second encodings (cosine / T), its own second encoding
/// being the positive. The evaluation embedding is the sentence's (normalised, dropout off).
/// </summary>
public sealed class SimCseMethod : IContrastiveMethod
{
    private readonly SimCseOptions _o;
    private readonly Device _device;
    private readonly TextTransformer _tower;
    private readonly Parameter[] _parameters;

    public SimCseMethod(MethodContext context, SimCseOptions options)
    {
        _o = options;
        _device = context.Device;
        torch.manual_seed(context.Training.Seed);
        _tower = options.CreateTower("SimCse", options.Dropout);
        _tower.to(_device);
        _parameters = _tower.parameters().ToArray();
    }

    public nn.Module Model => _tower;

    public TextTransformer Tower => _tower;

    public IReadOnlyList<Parameter> Parameters => _parameters;

    public Tensor Loss(Batch batch, double progress)
    {
        if (batch.Count < 2) throw new ArgumentException("--method simcse needs at least 2 sentences per batch.");
        using var scope = NewDisposeScope();
        var (tokens, lengths) = TextInput.ToTensors(batch, _device);
        _tower.train();
        var a = nn.functional.normalize(_tower.forward(tokens, lengths), p: 2, dim: 1);
        var b = nn.functional.normalize(_tower.forward(tokens, lengths), p: 2, dim: 1);
        var logits = a.matmul(b.t()) / _o.Temperature;
        var targets = arange(batch.Count, dtype: ScalarType.Int64, device: _device);
        return nn.functional.cross_entropy(logits, targets).MoveToOuterDisposeScope();
    }

    public Tensor Embed(Batch batch)
    {
        var (tokens, lengths) = TextInput.ToTensors(batch, _device);
        using (tokens)
        using (lengths)
            return _tower.EmbedNormalised(tokens, lengths);
    }

    public void Dispose() => _tower.Dispose();
}
