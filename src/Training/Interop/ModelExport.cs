using System.Globalization;
using System.Reflection;
using Contrastive.Training.Text;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// A trained network's weights under the names other tools use, out (safetensors, ONNX) and back in. The image encoder's
/// tensors take torchvision's state_dict names for the ResNets (<c>conv1.weight</c>, <c>bn1.running_mean</c>,
/// <c>layer1.0.conv1.weight</c>, <c>layer2.0.downsample.0.weight</c>, <c>…num_batches_tracked</c> as int64; no <c>fc</c>)
/// and <c>features.I.*</c> for the ConvNet (the index of the layer in its conv-BN-ReLU-pool sequence, as a PyTorch
/// <c>nn.Sequential</c> would number it); the projection head is <c>projection.I.*</c> (Linear, BatchNorm1d, ReLU, Linear);
/// CLIP's are <c>image_projection.weight</c>, <c>logit_scale</c> (the log of the logit scale) and the text tower's
/// <c>text.*</c>. Methods without an image encoder (CPC, SimCSE) export their whole network under its own names.
/// </summary>
public static class ModelExport
{
    /// <summary>The parts a file can hold: <c>encoder</c> (the representation eval and embed use), <c>projection</c> (the head
    /// or heads after it), <c>text</c> (CLIP's text tower) and <c>all</c>.</summary>
    public static readonly IReadOnlyList<string> Parts = ["encoder", "projection", "text", "all"];

    /// <summary>torchvision's classifier, present in its checkpoints and ignored on import (a pretraining run has no use for it).</summary>
    public static readonly IReadOnlyList<string> IgnoredOnImport = ["fc.weight", "fc.bias"];

    /// <summary>The beginnings of the export's names for parts a model may lack (a bare encoder, an image method's network given a CLIP export): skipped on import when the model has no such part.</summary>
    public static readonly IReadOnlyList<string> PartPrefixes = ["projection.", "image_projection.", "logit_scale", "text."];

    /// <summary>The project's version (the assembly's informational version), written into every export.</summary>
    public static string Version { get; } = typeof(ModelExport).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    /// <summary>The exported tensors of <paramref name="model"/>'s <paramref name="part"/>, by exported name, in the module's order.</summary>
    /// <exception cref="ArgumentException">The model has no such part; the message says which it has.</exception>
    public static IReadOnlyList<(string Name, Tensor Value)> Tensors(nn.Module model, string part)
    {
        var parts = PartsOf(model);
        if (part == "all") return parts.SelectMany(p => p.Tensors).ToArray();
        var found = parts.FirstOrDefault(p => p.Name == part)
            ?? throw new ArgumentException($"--part {part}: this model has {string.Join(", ", parts.Select(p => p.Name))} (or all)");
        return found.Tensors;
    }

    /// <summary>
    /// What a user needs to preprocess and rebuild, as strings (the format's rule): method, encoder, stem, pool, image_size,
    /// mean, std (JSON arrays, of pixels scaled to [0, 1]), feature_dim, step, version, part, and for CLIP the text tower's
    /// shape and tokenizer.
    /// </summary>
    public static Dictionary<string, string> Metadata(CheckpointInfo info, nn.Module model, string part)
    {
        var encoder = EncoderOf(model);
        var m = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = "contrastive-export",
            ["method"] = info.Method,
            ["encoder"] = info.Encoder,
            ["part"] = part,
            ["step"] = Str(info.Step),
            ["version"] = Version,
        };
        if (encoder is not null)
        {
            m["stem"] = encoder is ResNet r ? (r.SmallImages ? "small" : "imagenet") : "none";
            m["pool"] = encoder is SmallConvNet c ? $"avg{c.Pool}x{c.Pool}" : "avg";
            m["image_size"] = Str(info.ImageSize);
            m["mean"] = "[" + string.Join(", ", ImageInput.Mean.Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "]";
            m["std"] = "[" + string.Join(", ", ImageInput.Std.Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "]";
            m["feature_dim"] = Str(encoder.FeatureDim);
            m["input"] = "float32 [N, 3, H, W], RGB, (pixel / 255 - mean) / std";
            m["names"] = encoder is ResNet ? "torchvision" : "contrastive";
        }
        if (model is ClipModel clip)
        {
            m["embed_dim"] = Str(clip.Text.EmbedDim);
            m["text_context"] = Str(clip.Text.Context);
            m["text_width"] = Str(clip.Text.Width);
            m["text_layers"] = Str(clip.Text.Layers);
            m["text_heads"] = Str(clip.Text.Heads);
            if (info.MethodOptions is { } o) m["method_options"] = o;
        }
        return m;
    }

    /// <summary>Writes <paramref name="model"/>'s <paramref name="part"/> and <paramref name="metadata"/> as safetensors.</summary>
    public static void WriteSafeTensors(string path, nn.Module model, string part, IReadOnlyDictionary<string, string> metadata) =>
        SafeTensors.Write(path, Tensors(model, part), metadata);

    /// <summary>
    /// Loads the tensors of a safetensors file into <paramref name="model"/> (bit for bit where the dtypes agree). The file must
    /// hold the encoder whole; the projection and text parts are loaded when the file has them, and must then be whole too.
    /// torchvision's classifier (<see cref="IgnoredOnImport"/>) and the export's parts this model lacks (<see cref="PartPrefixes"/>)
    /// are skipped.
    /// </summary>
    /// <returns>The parts loaded and the tensors skipped.</returns>
    /// <exception cref="InvalidDataException">One line naming the first tensor that is missing, unexpected or of another shape (both shapes), and how many more problems there are.</exception>
    public static ImportResult Import(nn.Module model, SafeTensors file)
    {
        var parts = PartsOf(model);
        var byName = file.Entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        var known = parts.SelectMany(p => p.Tensors).ToDictionary(t => t.Name, t => t.Value, StringComparer.Ordinal);
        var problems = new List<string>();
        var skipped = new List<string>();
        string where = $"'{file.Path}'";
        string Shape(long[] s) => "[" + string.Join(", ", s) + "]";
        foreach (var e in file.Entries)
        {
            if (known.ContainsKey(e.Name)) continue;
            if (IgnoredOnImport.Contains(e.Name) || PartPrefixes.Any(p => e.Name.StartsWith(p, StringComparison.Ordinal))) { skipped.Add(e.Name); continue; }
            problems.Add($"tensor '{e.Name}' {Shape(e.Shape)} in {where} is not one of this model's ({Describe(model)}; its first is '{known.Keys.First()}')");
        }
        var loaded = new List<string>();
        var toLoad = new List<(Tensor Target, SafeTensors.Entry Entry)>();
        foreach (var p in parts)
        {
            bool present = p.Tensors.Any(t => byName.ContainsKey(t.Name));
            if (!present && p.Name != parts[0].Name) continue;
            foreach (var (name, target) in p.Tensors)
            {
                if (!byName.TryGetValue(name, out var e))
                    problems.Add($"tensor '{name}' {Shape(target.shape)} of the {p.Name} is missing from {where}");
                else if (!e.Shape.SequenceEqual(target.shape))
                    problems.Add($"tensor '{name}' is {Shape(e.Shape)} in {where}, the model's is {Shape(target.shape)}{Hint(name, file, model)}");
                else if (!Compatible(e.DType, target.dtype))
                    problems.Add($"tensor '{name}' is {e.DType} in {where}, the model's is {target.dtype}");
                else toLoad.Add((target, e));
            }
            loaded.Add(p.Name);
        }
        if (problems.Count > 0)
            throw new InvalidDataException(problems[0] + (problems.Count > 1 ? $" (and {problems.Count - 1} more problem{(problems.Count > 2 ? "s" : "")})" : ""));
        using (no_grad())
        {
            foreach (var (target, e) in toLoad)
            {
                using var value = SafeTensors.ToTensor(e, target.dtype);
                target.copy_(value);
            }
        }
        return new ImportResult(loaded, skipped, toLoad.Count);
    }

    /// <summary>
    /// An ONNX model (opset 17) of <paramref name="model"/>'s <paramref name="part"/>: <c>encoder</c> (input <c>images</c>
    /// float32 [N, 3, S, S] normalised, or <c>pixels</c> uint8 [N, 3, S, S] when <paramref name="uint8Input"/>, normalised
    /// inside the graph; output <c>features</c> [N, D]), <c>all</c> (also <c>projections</c>, the head's output) or, for CLIP,
    /// <c>text</c> (inputs <c>tokens</c> int64 [N, context] and <c>lengths</c> int64 [N]; output <c>text_embeddings</c>).
    /// The batch axis is dynamic.
    /// </summary>
    /// <exception cref="ArgumentException">The part cannot be a graph of this model; the message says what can.</exception>
    public static byte[] Onnx(nn.Module model, int imageSize, string part, bool uint8Input, IReadOnlyDictionary<string, string> metadata)
    {
        var g = new OnnxGraph();
        if (part == "text")
        {
            if (model is not ClipModel clip) throw new ArgumentException("--part text: only a CLIP checkpoint has a text tower");
            var tokens = g.Input("tokens", OnnxGraph.Int64, [null, clip.Text.Context]);
            var lengths = g.Input("lengths", OnnxGraph.Int64, [null]);
            clip.Text.Onnx(g, tokens, lengths, "text.", "text_embeddings");
            g.Output("text_embeddings", "text_embeddings", OnnxGraph.Float, [null, clip.Text.EmbedDim]);
            return g.ToModel("text_tower", metadata, Version);
        }
        if (part is not ("encoder" or "all"))
            throw new ArgumentException($"--part {part}: an ONNX graph takes images in, so its part is encoder or all (the encoder and its head{(model is ClipModel ? "; text: CLIP's text tower" : "")})");
        var encoder = EncoderOf(model) ?? throw new ArgumentException($"ONNX export takes image encoders; this model is {Describe(model)} (export it as safetensors)");
        string x;
        if (uint8Input)
        {
            var pixels = g.Input("pixels", OnnxGraph.UInt8, [null, 3, imageSize, imageSize]);
            var f = g.Node("Cast", [pixels], [OnnxGraph.Attr("to", (long)OnnxGraph.Float)]);
            f = g.Node("Div", [f, g.Constant([255f], 1)]);
            f = g.Node("Sub", [f, g.Constant(ImageInput.Mean, 1, 3, 1, 1)]);
            x = g.Node("Div", [f, g.Constant(ImageInput.Std, 1, 3, 1, 1)]);
        }
        else x = g.Input("images", OnnxGraph.Float, [null, 3, imageSize, imageSize]);
        var features = encoder switch
        {
            ResNet r => r.Onnx(g, x, "features"),
            SmallConvNet c => c.Onnx(g, x, imageSize, "features"),
            _ => throw new ArgumentException($"no ONNX graph for encoder {encoder.GetType().Name}"),
        };
        g.Output(features, "features", OnnxGraph.Float, [null, encoder.FeatureDim]);
        if (part == "all")
        {
            switch (model)
            {
                case ProjectedEncoder pe:
                    pe.Projector.Onnx(g, features, "projection.", "projections");
                    g.Output("projections", "projections", OnnxGraph.Float, [null, pe.Projector.OutputDim]);
                    break;
                case ClipModel clip:
                    g.Linear(features, g.Weight("image_projection.weight", clip.ImageProjection.weight!), null, "projections");
                    g.Output("projections", "projections", OnnxGraph.Float, [null, clip.Text.EmbedDim]);
                    break;
            }
        }
        return g.ToModel("image_encoder", metadata, Version);
    }

    private sealed record Part(string Name, IReadOnlyList<(string Name, Tensor Value)> Tensors);

    private static List<Part> PartsOf(nn.Module model)
    {
        switch (model)
        {
            case Encoder e:
                return [new("encoder", EncoderTensors(e))];
            case ProjectedEncoder pe:
                return [new("encoder", EncoderTensors(pe.Encoder)), new("projection", Prefixed(pe.Projector, "_mlp.", "projection."))];
            case ClipModel clip:
                return
                [
                    new("encoder", EncoderTensors(clip.Encoder)),
                    new("projection", [("image_projection.weight", clip.ImageProjection.weight!), ("logit_scale", clip.LogScale)]),
                    new("text", Prefixed(clip.Text, "", "text.")),
                ];
            default:
                return [new("encoder", Prefixed(model, "", ""))];
        }
    }

    private static Encoder? EncoderOf(nn.Module model) => model switch
    {
        Encoder e => e,
        ProjectedEncoder pe => pe.Encoder,
        ClipModel clip => clip.Encoder,
        _ => null,
    };

    private static IReadOnlyList<(string, Tensor)> EncoderTensors(Encoder e) => e switch
    {
        ResNet r => r.state_dict().Select(kv => (r.TorchvisionName(kv.Key), kv.Value)).ToArray(),
        SmallConvNet c => Prefixed(c, "_net.", "features."),
        _ => Prefixed(e, "", ""),
    };

    private static IReadOnlyList<(string, Tensor)> Prefixed(nn.Module m, string own, string exported) =>
        m.state_dict().Select(kv => (exported + (kv.Key.StartsWith(own, StringComparison.Ordinal) ? kv.Key[own.Length..] : kv.Key), kv.Value)).ToArray();

    private static string Describe(nn.Module model) => model switch
    {
        ResNet r => $"resnet{r.Depth}, {(r.SmallImages ? "small-image" : "ImageNet")} stem",
        SmallConvNet c => $"convnet, pool {c.Pool}",
        ProjectedEncoder pe => Describe(pe.Encoder) + " with a projection head",
        ClipModel clip => "CLIP: " + Describe(clip.Encoder) + ", text tower",
        _ => model.GetName(),
    };

    /// <summary>Why a stem's weights would not fit: the other stem, by the file's metadata or the kernel's size.</summary>
    private static string Hint(string name, SafeTensors file, nn.Module model)
    {
        if (name != "conv1.weight" || EncoderOf(model) is not ResNet r) return "";
        string fileStem = file.Metadata.TryGetValue("stem", out var s) ? s : file.Entries.First(e => e.Name == name).Shape[^1] == 7 ? "imagenet" : "small";
        string mine = r.SmallImages ? "small" : "imagenet";
        return fileStem == mine ? "" : $" (the file has the {fileStem} stem, this run the {mine}: --stem {fileStem})";
    }

    private static bool Compatible(string dtype, ScalarType target) => target switch
    {
        ScalarType.Float32 => dtype is "F32" or "F16" or "BF16" or "F64",
        ScalarType.Int64 => dtype is "I64" or "I32",
        _ => false,
    };

    private static string Str(long v) => v.ToString(CultureInfo.InvariantCulture);
}

/// <summary>What an import loaded: the parts, the tensors skipped (torchvision's classifier) and how many tensors were copied.</summary>
public sealed record ImportResult(IReadOnlyList<string> Parts, IReadOnlyList<string> Skipped, int Tensors);
