using System.ComponentModel.DataAnnotations;
using Contrastive.Augment;
using Contrastive.Training.Text;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// Unsupervised SimCSE (Gao et al. 2021). Configuration section "SimCse". The text tower is CLIP's
/// (<see cref="TextTransformer"/>; its shape and tokenizer keys and defaults are those of the Clip section) with dropout; the paper fine-tunes BERT-base
/// (768 wide, 12 layers) from its pre-trained weights, which nothing here can download: this tower starts from random.
/// </summary>
public sealed class SimCseOptions : TextTowerOptions
{
    /// <summary>Softmax temperature. Default 0.05 (the paper's).</summary>
    [Range(1e-4, 100.0)]
    public double Temperature { get; set; } = 0.05;

    /// <summary>Dropout on the embeddings and each residual branch: the only augmentation. Default 0.1 (the paper's, BERT's).</summary>
    [Range(0.01, 0.9)]
    public double Dropout { get; set; } = 0.1;
}

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
