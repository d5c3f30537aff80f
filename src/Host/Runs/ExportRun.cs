using System.Text.Json.Serialization;
using Contrastive.Training;
using TorchSharp;

namespace Contrastive.Host;

/// <summary>
/// `contrastive export`: a checkpoint's network, or a part of it, as a safetensors file under the names other tools use
/// (torchvision's for the ResNets) with the metadata to rebuild and preprocess, or as an ONNX graph (<see cref="ModelExport"/>).
/// </summary>
internal static class ExportRun
{
    public static ExportResult Run(ExportCommandOptions what, Action<string>? log = null)
    {
        string outPath = what.Out!;
        if (Directory.Exists(outPath)) throw new UsageException($"--out: '{outPath}' is a directory; give the file to write, e.g. {Path.Combine(outPath, "encoder.safetensors")}.");
        string format = (what.Format ?? (outPath.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) ? "onnx" : "safetensors")).ToLowerInvariant();
        string part = what.Part.ToLowerInvariant();
        bool uint8 = what.OnnxInput.Equals("uint8", StringComparison.OrdinalIgnoreCase);
        if (uint8 && format != "onnx") throw new UsageException("--onnx-input uint8 is for --format onnx (a safetensors file holds weights, not the input's normalisation: its metadata gives mean and std).");
        var ckpt = Open(what.Checkpoint!, log);
        if (MethodRegistry.Find(ckpt.Info.Method) is null)
            throw new UsageException($"--checkpoint: '{ckpt.Path}' was made by method '{ckpt.Info.Method}', which this build does not have ({MethodRegistry.Names}).");
        using var method = ContrastiveTrainer.Load(ckpt, torch.CPU);
        var model = method.Model;
        model.eval();
        var metadata = ModelExport.Metadata(ckpt.Info, model, part);
        metadata["checkpoint"] = Path.GetFileName(ckpt.Path);
        int? tensors = null;
        try
        {
            if (format == "onnx")
            {
                var bytes = ModelExport.Onnx(model, ckpt.Info.ImageSize, part, uint8, metadata);
                WriteAtomically(outPath, bytes);
            }
            else
            {
                var list = ModelExport.Tensors(model, part);
                SafeTensors.Write(outPath, list, metadata);
                tensors = list.Count;
            }
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"{e.Message} ('{ckpt.Path}': {ckpt.Info.Method}, {ckpt.Info.Encoder}).", e);
        }
        return new ExportResult(Path.GetFullPath(outPath), format, part, ckpt.Info.Method, ckpt.Info.Encoder, ckpt.Info.Step, tensors, new FileInfo(outPath).Length, Path.GetFullPath(ckpt.Path))
        {
            Stem = metadata.GetValueOrDefault("stem"),
            ImageSize = ckpt.Info.ImageSize,
            OnnxInput = format == "onnx" && part != "text" ? (uint8 ? "uint8" : "float32") : null,
        };
    }

    /// <summary>A checkpoint file, or a run folder's newest intact checkpoint (the damaged ones skipped are said).</summary>
    public static CheckpointData Open(string path, Action<string>? log)
    {
        if (Directory.Exists(path))
        {
            var store = new CheckpointStore(path);
            return store.LatestIntact(skipped => log?.Invoke($"skipped: {skipped}"))
                ?? throw new UsageException($"--checkpoint: the folder '{path}' has no intact checkpoint (ckpt-*.ckpt).");
        }
        return CommandCheckpoint.Read(path).Data;
    }

    private static void WriteAtomically(string path, byte[] bytes)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        string tmp = path + ".tmp";
        try
        {
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                fs.Write(bytes);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { }
            throw;
        }
    }
}

/// <summary>What `contrastive export` wrote (its --json line).</summary>
internal sealed record ExportResult(
    [property: JsonPropertyName("out")] string Out,
    [property: JsonPropertyName("format")] string Format,
    [property: JsonPropertyName("part")] string Part,
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("encoder")] string Encoder,
    [property: JsonPropertyName("step")] long Step,
    [property: JsonPropertyName("tensors"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Tensors,
    [property: JsonPropertyName("bytes")] long Bytes,
    [property: JsonPropertyName("checkpoint")] string Checkpoint)
{
    [JsonPropertyName("stem")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Stem { get; init; }

    [JsonPropertyName("image_size")]
    public int ImageSize { get; init; }

    [JsonPropertyName("onnx_input")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? OnnxInput { get; init; }
}
