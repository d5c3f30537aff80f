using Contrastive.Augment;
using Contrastive.Training.Text;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// CLIP: each image and its caption, encoded by the image and text towers into one embedding; the symmetric cross-entropy
/// of <see cref="ClipLoss"/> over the batch (the global batch across ranks: <see cref="IGlobalBatchLoss"/>). After each
/// step the log logit scale is clamped to [0, ln MaxLogitScale], as open_clip does. Evaluation features are the image
/// encoder's (kNN as for the other methods); zero-shot classification and retrieval use the joint embedding.
/// </summary>
public sealed class ClipMethod : IContrastiveMethod, IImageTextMethod, IGlobalBatchLoss
{
    private readonly ClipOptions _o;
    private readonly Device _device;
    private readonly ClipModel _model;
    private readonly Parameter[] _parameters;

    public ClipMethod(MethodContext context, ClipOptions options)
    {
        _o = options;
        _device = context.Device;
        torch.manual_seed(context.Training.Seed);
        _model = new ClipModel(context.Training.Encoder, context.Training.SmallStem(context.ImageSize), options, context.Training.ConvNetPool);
        _model.to(_device);
        _parameters = _model.parameters().ToArray();
        Tokenizer = new CaptionTokenizer(options.ContextLength);
    }

    public nn.Module Model => _model;

    public ClipModel Network => _model;

    public IReadOnlyList<Parameter> Parameters => _parameters;

    public CaptionTokenizer Tokenizer { get; }

    /// <summary>The logit scale in effect (exp(s), clamped).</summary>
    public double LogitScale => Math.Min(Math.Exp(_model.LogScale.item<float>()), _o.MaxLogitScale);

    public IReadOnlyList<(string Name, double Value)> LastMetrics => [("logit_scale", LogitScale)];

    public Tensor Loss(Batch batch, double progress)
    {
        var (images, texts) = Encode(batch);
        return ClipLoss.Compute(images, texts, _model.LogScale, _o.MaxLogitScale);
    }

    /// <summary>Image and text embeddings of the batch (projected, not normalised), with their graphs.</summary>
    private (Tensor Images, Tensor Texts) Encode(Batch batch)
    {
        if (batch.Views != 1) throw new ArgumentException($"--method clip takes 1 view per sample, the batch has {batch.Views}.");
        if (batch.Count < 2) throw new ArgumentException("--method clip needs at least 2 samples per batch.");
        var x = ImageInput.ToTensor(batch, _device, 0, 1);
        var (tokens, lengths) = TextInput.ToTensors(batch, _device);
        return (_model.forward(x), _model.EncodeText(tokens, lengths));
    }

    public Tensor EncodeRows(Batch batch)
    {
        var (images, texts) = Encode(batch);
        return cat([images, texts], 0);
    }

    public Tensor GlobalShare(Tensor all, long first, long count, int worldSize) =>
        ClipLoss.GlobalShare(all, first, count / 2, worldSize, _model.LogScale, _o.MaxLogitScale);

    public void AfterStep(double progress)
    {
        using var _ = no_grad();
        _model.LogScale.clamp_(0, Math.Log(_o.MaxLogitScale));
    }

    public Tensor Embed(Batch batch) => ImageModels.Embed(_model.Encoder, batch, _device);

    public Tensor EmbedImages(Batch batch)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        _model.eval();
        var x = ImageInput.ToTensor(batch, _device, 0, 1);
        return nn.functional.normalize(_model.forward(x), p: 2, dim: 1).cpu().MoveToOuterDisposeScope();
    }

    public Tensor EmbedTexts(Tensor tokens, Tensor lengths) => _model.Text.EmbedNormalised(tokens, lengths);

    public void Dispose() => _model.Dispose();
}
