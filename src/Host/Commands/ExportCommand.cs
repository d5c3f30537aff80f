using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace Contrastive.Host;

/// <summary>`contrastive export`: a checkpoint's encoder (or another part) out to safetensors or ONNX, for the next tool.</summary>
internal static class ExportCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var cmd = new Command("export", "Write a checkpoint's encoder (or projection, CLIP's text tower, or all) as safetensors under torchvision's names, or as an ONNX graph (docs/interop.md).");
        var o = new CommandLineOptions(cmd);
        o.Add([
            new("--checkpoint", "Export:Checkpoint", "A checkpoint file written by train, or a run folder: its newest intact checkpoint (required)."),
            new("--out", "Export:Out", "The file to write, e.g. encoder.safetensors or encoder.onnx (required)."),
            new("--format", "Export:Format", "safetensors or onnx.", "from --out's extension: .onnx is onnx, anything else safetensors"),
            new("--part", "Export:Part", "encoder, projection, text (CLIP's text tower) or all."),
            new("--onnx-input", "Export:OnnxInput", "ONNX: float32 (normalised NCHW) or uint8 (pixels NCHW, normalised inside the graph)."),
        ]);
        var json = o.Json("Print {\"out\": ..., \"format\": ..., \"part\": ..., \"bytes\": ...} as the last line.");
        cmd.SetAction(o, output, error, (c, parse, ct) =>
        {
            var result = ExportRun.Run(c.Bind<ExportCommandOptions>("Export"), c.Say);
            if (parse.GetValue(json)) c.Output.WriteLine(JsonSerializer.Serialize(result));
            else
            {
                string what = result.Format == "onnx" ? $"ONNX graph, opset 17{(result.OnnxInput is { } input ? $", {input} input" : "")}" : $"safetensors, {result.Tensors} tensors";
                c.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{result.Part} of {result.Method} {result.Encoder}{(result.Stem is { } s && s != "none" ? $" ({s} stem)" : "")} at step {result.Step} → {result.Out} ({what}, {result.Bytes / 1e6:F1} MB)"));
            }
            return Task.FromResult(Cli.Ok);
        });
        return cmd;
    }
}
