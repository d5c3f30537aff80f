using Contrastive.Augment;
using Contrastive.Training.Text;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// CLIP's two towers in one module (a checkpoint's model holds both): the run's image encoder with a linear projection
/// (no bias, as CLIP's), the <see cref="TextTransformer"/>, and the learnable log logit scale. <c>forward</c> gives the
/// projected image embeddings of normalised images (not yet L2-normalised).
/// </summary>
public sealed class ClipModel : nn.Module<Tensor, Tensor>
{
    private readonly Linear image_projection;
    private readonly Parameter logit_scale;

    public ClipModel(string encoder, bool smallImages, ClipOptions o, int convNetPool = SmallConvNet.DefaultPool) : base(nameof(ClipModel))
    {
        Encoder = Training.Encoder.Create(encoder, smallImages, convNetPool);
        image_projection = nn.Linear(Encoder.FeatureDim, o.EmbedDim, hasBias: false);
        Text = o.CreateTower("Clip", o.TextDropout);
        logit_scale = new Parameter(tensor(Math.Log(1 / o.InitialTemperature), ScalarType.Float32));
        RegisterComponents();
        using var _ = no_grad();
        nn.init.normal_(image_projection.weight!, 0, Math.Pow(Encoder.FeatureDim, -0.5));
    }

    public Encoder Encoder { get; }

    public TextTransformer Text { get; }

    /// <summary>The image features' projection to the joint embedding (no bias).</summary>
    internal Linear ImageProjection => image_projection;

    /// <summary>s, with the logit scale exp(s).</summary>
    public Parameter LogScale => logit_scale;

    /// <summary>Projected image embeddings [N, E] of normalised images [N, 3, S, S].</summary>
    public override Tensor forward(Tensor images)
    {
        using var h = Encoder.forward(images);
        return image_projection.forward(h);
    }

    /// <summary>Projected text embeddings [N, E] of token rows and lengths (<see cref="TextTransformer.forward"/>).</summary>
    public Tensor EncodeText(Tensor tokens, Tensor lengths) => Text.forward(tokens, lengths);
}
