using System.ComponentModel.DataAnnotations;
using Contrastive.Training.Text;

namespace Contrastive.Training;

/// <summary>
/// The text transformer's shape and tokenizer, shared by the methods that have one (CLIP, SimCSE): each method's own
/// configuration section holds these keys, and its checkpoints record them, so a tower is rebuilt with the vocabulary
/// and shape it was trained with.
/// </summary>
public abstract class TextTowerOptions
{
    /// <summary>Output embedding size (CLIP: the joint embedding both towers project to). Default 128 (paper: 512 to 1024).</summary>
    [Range(2, 65536)]
    public int EmbedDim { get; set; } = 128;

    /// <summary>Text transformer width. Default 256 (paper: 512).</summary>
    [Range(8, 65536)]
    public int TextWidth { get; set; } = 256;

    /// <summary>Text transformer blocks. Default 4 (paper: 12).</summary>
    [Range(1, 256)]
    public int TextLayers { get; set; } = 4;

    /// <summary>Attention heads (must divide TextWidth). Default 4 (paper: 8).</summary>
    [Range(1, 256)]
    public int TextHeads { get; set; } = 4;

    /// <summary>Token ids per caption, start and end tokens included; longer captions are cut, keeping the end token. Default 77 (CLIP's).</summary>
    [Range(3, 4096)]
    public int ContextLength { get; set; } = CaptionTokenizer.DefaultContextLength;

    /// <summary>The tokenizer, recorded in checkpoints: "gpt2-bpe" (GPT-2's byte-level BPE, shipped in a NuGet package; the only one).</summary>
    [Required, RegularExpression("^gpt2-bpe$", ErrorMessage = "must be gpt2-bpe (GPT-2's byte-level BPE, the tokenizer this build ships)")]
    public string Tokenizer { get; set; } = CaptionTokenizer.Gpt2BpeName;


    /// <summary>A new text tower of this shape with <paramref name="dropout"/> (section: the configuration section, for the error).</summary>
    /// <exception cref="ArgumentException">TextWidth is not a multiple of TextHeads.</exception>
    public TextTransformer CreateTower(string section, double dropout)
    {
        if (TextWidth % TextHeads != 0)
            throw new ArgumentException($"{section}:TextWidth ({TextWidth}) must be a multiple of {section}:TextHeads ({TextHeads}).");
        return new TextTransformer(CaptionTokenizer.VocabularySize, ContextLength, TextWidth, TextLayers, TextHeads, EmbedDim, dropout);
    }
}
