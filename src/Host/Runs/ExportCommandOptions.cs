using System.ComponentModel.DataAnnotations;

namespace Contrastive.Host;

/// <summary>`contrastive export`: which checkpoint, which part, in which format, to which file. Configuration section "Export".</summary>
internal sealed class ExportCommandOptions
{
    /// <summary>A checkpoint file written by train, or a run folder (its newest intact checkpoint).</summary>
    [Required(ErrorMessage = "is required: a checkpoint file written by train, or a run folder")]
    public string? Checkpoint { get; set; }

    /// <summary>The file to write (written under a temporary name beside it, then renamed).</summary>
    [Required(ErrorMessage = "is required: the file to write, e.g. encoder.safetensors or encoder.onnx")]
    public string? Out { get; set; }

    /// <summary>safetensors (weights under torchvision's names, with metadata) or onnx (an opset-17 graph); unset: from --out's extension (.onnx: onnx, else safetensors).</summary>
    [RegularExpression("^(?i)(safetensors|onnx)$", ErrorMessage = "must be safetensors or onnx")]
    public string? Format { get; set; }

    /// <summary>
    /// What to export: encoder (the representation eval and embed use; the default), projection (the head after it: SimCLR's
    /// MLP, CLIP's image projection and logit scale), text (CLIP's text tower) or all.
    /// </summary>
    [Required, RegularExpression("^(?i)(encoder|projection|text|all)$", ErrorMessage = "must be encoder, projection, text or all")]
    public string Part { get; set; } = "encoder";

    /// <summary>ONNX: the image input, float32 (normalised NCHW, as the encoder takes it; the default) or uint8 (pixels NCHW, normalised inside the graph).</summary>
    [Required, RegularExpression("^(?i)(float32|uint8)$", ErrorMessage = "must be float32 or uint8")]
    public string OnnxInput { get; set; } = "float32";
}
