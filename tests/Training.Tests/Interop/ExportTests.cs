using System.Diagnostics;
using System.Text.Json;
using Contrastive.Training.Text;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Tensor = TorchSharp.torch.Tensor;
using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training.Tests;

/// <summary>
/// The exports: safetensors under torchvision's names, read back bit for bit; ONNX graphs of our own writing run by ONNX
/// Runtime against TorchSharp's outputs; the same file loaded by Debian's torchvision; imports that fail say which tensor.
/// </summary>
public sealed class ExportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("export-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string, bool, int> Encoders => new()
    {
        { "convnet", true, 32 },
        { "resnet18", true, 32 },
        { "resnet18", false, 64 },
        { "resnet34", true, 32 },
        { "resnet34", false, 64 },
        { "resnet50", true, 32 },
        { "resnet50", false, 64 },
    };

    [Theory]
    [MemberData(nameof(Encoders))]
    public void An_export_imported_into_a_fresh_network_gives_the_same_bits(string encoder, bool small, int size)
    {
        using var a = Network(encoder, small, size, seed: 1);
        using var b = Network(encoder, small, size, seed: 2);
        Assert.False(SameState(a, b));
        string file = Path.Combine(_dir, "all.safetensors");
        ModelExport.WriteSafeTensors(file, a, "all", ModelExport.Metadata(Info(encoder, size), a, "all"));
        var read = SafeTensors.Read(file);
        var result = ModelExport.Import(b, read);
        Assert.Equal(["encoder", "projection"], result.Parts);
        Assert.Equal(a.state_dict().Count, result.Tensors);
        Assert.True(SameState(a, b));

        // The encoder part alone: torchvision's names, no classifier, num_batches_tracked as int64, the metadata as strings.
        ModelExport.WriteSafeTensors(file, a, "encoder", ModelExport.Metadata(Info(encoder, size), a, "encoder"));
        read = SafeTensors.Read(file);
        var names = read.Entries.Select(e => e.Name).ToHashSet();
        Assert.Equal(a.Encoder.state_dict().Count, names.Count);
        Assert.DoesNotContain(names, n => n.StartsWith("projection.", StringComparison.Ordinal) || n.StartsWith("fc.", StringComparison.Ordinal));
        Assert.Equal(small ? "small" : "imagenet", encoder == "convnet" ? "small" : read.Metadata["stem"]);
        Assert.Equal(size.ToString(System.Globalization.CultureInfo.InvariantCulture), read.Metadata["image_size"]);
        Assert.Equal(a.Encoder.FeatureDim.ToString(System.Globalization.CultureInfo.InvariantCulture), read.Metadata["feature_dim"]);
        Assert.Equal([0.485, 0.456, 0.406], JsonSerializer.Deserialize<double[]>(read.Metadata["mean"])!.Select(v => Math.Round(v, 3)));
        if (encoder == "convnet")
        {
            Assert.Contains("features.0.weight", names);
            Assert.Equal("avg3x3", read.Metadata["pool"]);
            return;
        }
        Assert.Equal("torchvision", read.Metadata["names"]);
        foreach (var n in new[] { "conv1.weight", "bn1.running_mean", "bn1.num_batches_tracked", "layer1.0.conv1.weight", "layer2.0.downsample.0.weight", "layer4.1.bn2.weight" })
            Assert.Contains(n, names);
        var tracked = read.Entries.Single(e => e.Name == "bn1.num_batches_tracked");
        Assert.Equal("I64", tracked.DType);
        Assert.Empty(tracked.Shape);
        Assert.Equal(1L, BitConverter.ToInt64(tracked.Data));
        Assert.Equal(small ? [64, 3, 3, 3] : new long[] { 64, 3, 7, 7 }, read.Entries.Single(e => e.Name == "conv1.weight").Shape);
        if (encoder == "resnet50") Assert.Contains("layer3.5.conv3.weight", names);
    }

    [Fact]
    public void A_clip_export_holds_both_towers_the_projection_and_the_logit_scale_and_reads_back_bit_for_bit()
    {
        using var a = Clip(seed: 1);
        using var b = Clip(seed: 2);
        string file = Path.Combine(_dir, "clip.safetensors");
        ModelExport.WriteSafeTensors(file, a, "all", ModelExport.Metadata(Info("convnet", 32, "clip"), a, "all"));
        var read = SafeTensors.Read(file);
        var names = read.Entries.Select(e => e.Name).ToHashSet();
        foreach (var n in new[] { "features.0.weight", "image_projection.weight", "logit_scale", "text.token.weight", "text.position", "text.blocks.1.qkv.weight", "text.projection" })
            Assert.Contains(n, names);
        Assert.Equal("2", read.Metadata["text_layers"]);
        Assert.Equal(["encoder", "projection", "text"], ModelExport.Import(b, read).Parts);
        Assert.True(SameState(a, b));
    }

    [Theory]
    [MemberData(nameof(Encoders))]
    public void Onnx_runtime_gives_torchsharps_features_and_projections_at_batch_1_and_3(string encoder, bool small, int size)
    {
        using var model = Network(encoder, small, size, seed: 3);
        var onnx = ModelExport.Onnx(model, size, "all", uint8Input: false, ModelExport.Metadata(Info(encoder, size), model, "all"));
        using var session = new InferenceSession(onnx);
        Assert.Equal(encoder, session.ModelMetadata.CustomMetadataMap["encoder"]);
        Assert.Equal(size.ToString(System.Globalization.CultureInfo.InvariantCulture), session.ModelMetadata.CustomMetadataMap["image_size"]);
        foreach (int n in new[] { 1, 3 })
        {
            using var scope = NewDisposeScope();
            var x = randn(n, 3, size, size, generator: new Generator((ulong)n));
            var features = model.Encoder.forward(x);
            var projections = model.Projector.forward(features);
            using var outputs = session.Run([NamedOnnxValue.CreateFromTensor("images", Dense(x))]);
            AssertClose(features, outputs.Single(o => o.Name == "features").AsTensor<float>(), $"{encoder} features, batch {n}");
            AssertClose(projections, outputs.Single(o => o.Name == "projections").AsTensor<float>(), $"{encoder} projections, batch {n}");
        }
    }

    [Theory]
    [InlineData("convnet", true, 32)]
    [InlineData("resnet18", false, 64)]
    public void An_onnx_encoder_with_uint8_input_normalises_inside_the_graph(string encoder, bool small, int size)
    {
        using var model = Network(encoder, small, size, seed: 4);
        var onnx = ModelExport.Onnx(model, size, "encoder", uint8Input: true, new Dictionary<string, string>());
        using var session = new InferenceSession(onnx);
        Assert.Equal("pixels", session.InputMetadata.Keys.Single());
        using var scope = NewDisposeScope();
        var pixels = randint(0, 256, [3, 3, size, size], dtype: ScalarType.Byte, generator: new Generator(5));
        var mean = tensor(new[] { 0.485f, 0.456f, 0.406f }).view(1, 3, 1, 1);
        var std = tensor(new[] { 0.229f, 0.224f, 0.225f }).view(1, 3, 1, 1);
        var features = model.Encoder.forward((pixels.to_type(ScalarType.Float32) / 255f - mean) / std);
        var input = new DenseTensor<byte>(pixels.data<byte>().ToArray(), [3, 3, size, size]);
        using var outputs = session.Run([NamedOnnxValue.CreateFromTensor("pixels", input)]);
        AssertClose(features, outputs.Single().AsTensor<float>(), $"{encoder} from uint8");
    }

    [Fact]
    public void Onnx_runtime_gives_clips_text_embeddings_at_batch_1_and_3()
    {
        using var clip = Clip(seed: 6);
        var onnx = ModelExport.Onnx(clip, 32, "text", uint8Input: false, new Dictionary<string, string>());
        using var session = new InferenceSession(onnx);
        int context = clip.Text.Context;
        foreach (var lengths in new[] { new long[] { 5 }, [3, context, 9] })
        {
            using var scope = NewDisposeScope();
            int n = lengths.Length;
            var ids = new long[n * context];
            var random = new Random(7);
            for (int i = 0; i < n; i++)
                for (int j = 0; j < lengths[i]; j++) ids[i * context + j] = random.Next(1, CaptionTokenizer.VocabularySize);
            var tokens = tensor(ids).view(n, context);
            var ours = clip.EncodeText(tokens, tensor(lengths));
            using var outputs = session.Run([
                NamedOnnxValue.CreateFromTensor("tokens", new DenseTensor<long>(ids, [n, context])),
                NamedOnnxValue.CreateFromTensor("lengths", new DenseTensor<long>(lengths, [n])),
            ]);
            AssertClose(ours, outputs.Single().AsTensor<float>(), $"text tower, batch {n}");
        }
    }

    [Fact]
    public void An_import_that_does_not_fit_names_the_tensor_and_both_shapes_and_torchvisions_classifier_is_skipped()
    {
        using var imagenet = Network("resnet18", false, 64, seed: 1);
        using var small = Network("resnet18", true, 32, seed: 2);
        string file = Path.Combine(_dir, "r18.safetensors");
        ModelExport.WriteSafeTensors(file, imagenet, "encoder", ModelExport.Metadata(Info("resnet18", 64), imagenet, "encoder"));
        var e = Assert.Throws<InvalidDataException>(() => ModelExport.Import(small, SafeTensors.Read(file)));
        Assert.Equal($"tensor 'conv1.weight' is [64, 3, 7, 7] in '{file}', the model's is [64, 3, 3, 3] (the file has the imagenet stem, this run the small: --stem imagenet)", e.Message);

        // A missing tensor, an unexpected one, and torchvision's fc (skipped, said).
        var tensors = ModelExport.Tensors(imagenet, "encoder").Where(t => t.Name != "layer3.1.bn2.running_var").ToList();
        SafeTensors.Write(file, tensors, new Dictionary<string, string>());
        using var other = Network("resnet18", false, 64, seed: 2);
        e = Assert.Throws<InvalidDataException>(() => ModelExport.Import(other, SafeTensors.Read(file)));
        Assert.Equal($"tensor 'layer3.1.bn2.running_var' [256] of the encoder is missing from '{file}'", e.Message);

        using var extra = zeros(2, 2);
        using var fcWeight = zeros(1000, 512);
        using var fcBias = zeros(1000);
        SafeTensors.Write(file, [.. ModelExport.Tensors(imagenet, "encoder"), ("head.weight", extra)], new Dictionary<string, string>());
        e = Assert.Throws<InvalidDataException>(() => ModelExport.Import(other, SafeTensors.Read(file)));
        Assert.StartsWith($"tensor 'head.weight' [2, 2] in '{file}' is not one of this model's (resnet18, ImageNet stem with a projection head; its first is 'conv1.weight')", e.Message);

        SafeTensors.Write(file, [.. ModelExport.Tensors(imagenet, "encoder"), ("fc.weight", fcWeight), ("fc.bias", fcBias)], new Dictionary<string, string>());
        var result = ModelExport.Import(other, SafeTensors.Read(file));
        Assert.Equal(["encoder"], result.Parts);
        Assert.Equal(["fc.weight", "fc.bias"], result.Skipped);
        Assert.True(SameState(imagenet.Encoder, other.Encoder));

        // Not safetensors at all.
        File.WriteAllText(file, "hello");
        e = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(file));
        Assert.Contains($"'{file}' is not a safetensors file", e.Message);
    }

    [Theory]
    [InlineData("resnet18", false, 64)]
    [InlineData("resnet18", true, 32)]
    [InlineData("resnet50", false, 64)]
    public async Task Torchvision_loads_the_export_missing_only_fc_and_gives_our_features(string encoder, bool small, int size)
    {
        using var model = Network(encoder, small, size, seed: 8);
        string file = Path.Combine(_dir, $"{encoder}.safetensors");
        ModelExport.WriteSafeTensors(file, model, "encoder", ModelExport.Metadata(Info(encoder, size), model, "encoder"));
        const int n = 2;
        using var x = randn(n, 3, size, size, generator: new Generator(9));
        using var features = model.Encoder.forward(x);
        string input = Path.Combine(_dir, "x.f32"), expected = Path.Combine(_dir, "y.f32");
        File.WriteAllBytes(input, x.data<float>().ToArray().SelectMany(BitConverter.GetBytes).ToArray());
        File.WriteAllBytes(expected, features.data<float>().ToArray().SelectMany(BitConverter.GetBytes).ToArray());

        // Debian's python3 (where apt puts python3-torchvision), not another one earlier on PATH.
        var psi = new ProcessStartInfo(File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Interop", "torchvision_check.py"), file, input, expected, n.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await p.WaitForExitAsync(limit.Token);
        string output = await stdout, errors = await stderr;
        Assert.True(p.ExitCode == 0, $"python3 torchvision_check.py failed (python3-torchvision is installed by ./test.sh): {errors}");
        using var report = JsonDocument.Parse(output.Trim().Split('\n')[^1]);
        var root = report.RootElement;
        Assert.Equal(["fc.bias", "fc.weight"], root.GetProperty("missing").EnumerateArray().Select(v => v.GetString()));
        Assert.Empty(root.GetProperty("unexpected").EnumerateArray());
        Assert.Equal([n, model.Encoder.FeatureDim], root.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()));
        double diff = root.GetProperty("max_abs_diff").GetDouble();
        Assert.True(diff <= 1e-4, $"torchvision's features differ from ours by {diff}");
    }

    /// <summary>An encoder with a projection head, its batch-norm statistics moved by one training-mode batch (so they are not the defaults), in eval mode.</summary>
    private static ProjectedEncoder Network(string encoder, bool small, int size, long seed)
    {
        manual_seed(seed);
        var model = new ProjectedEncoder(encoder, small, ImageModels.ProjectionHidden(encoder), 32);
        using (no_grad())
        {
            model.train();
            using var x = randn(4, 3, size, size);
            using var _ = model.forward(x);
        }
        model.eval();
        return model;
    }

    private static ClipModel Clip(long seed)
    {
        manual_seed(seed);
        var clip = new ClipModel("convnet", true, new ClipOptions { EmbedDim = 16, TextWidth = 32, TextLayers = 2, TextHeads = 4, ContextLength = 12 }, 2);
        clip.eval();
        return clip;
    }

    private static CheckpointInfo Info(string encoder, int size, string method = "simclr") => new() { Method = method, Encoder = encoder, ImageSize = size, Step = 7 };

    private static DenseTensor<float> Dense(Tensor x) => new(x.contiguous().data<float>().ToArray(), x.shape.Select(d => (int)d).ToArray());

    private static void AssertClose(Tensor ours, Microsoft.ML.OnnxRuntime.Tensors.Tensor<float> theirs, string what)
    {
        Assert.Equal(ours.shape, theirs.Dimensions.ToArray().Select(d => (long)d));
        var a = ours.contiguous().data<float>().ToArray();
        var b = theirs.ToArray();
        double max = 0;
        for (int i = 0; i < a.Length; i++) max = Math.Max(max, Math.Abs(a[i] - b[i]));
        Assert.True(max <= 1e-4, $"{what}: ONNX Runtime differs from TorchSharp by up to {max}");
    }

    private static bool SameState(nn.Module a, nn.Module b)
    {
        var sa = a.state_dict();
        var sb = b.state_dict();
        if (sa.Count != sb.Count) return false;
        foreach (var (name, ta) in sa)
        {
            var tb = sb[name];
            if (ta.dtype != tb.dtype || !ta.shape.SequenceEqual(tb.shape)) return false;
            bool same = ta.dtype == ScalarType.Int64
                ? ta.data<long>().ToArray().SequenceEqual(tb.data<long>().ToArray())
                : ta.data<float>().ToArray().Select(BitConverter.SingleToInt32Bits).SequenceEqual(tb.data<float>().ToArray().Select(BitConverter.SingleToInt32Bits));
            if (!same) return false;
        }
        return true;
    }
}
