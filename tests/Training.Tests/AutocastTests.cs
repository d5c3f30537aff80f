using Contrastive.Batching;
using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training.Tests;

/// <summary>
/// Mixed precision by explicit casts: chains keep Sequential's checkpoint keys and fp32 results; under bf16 the layers
/// compute in bf16 (results close to fp32's but not equal), gradients land on fp32 parameters close to fp32's, and
/// the trainer's bf16 steps fit a batch. Runs on the CPU (libtorch has bf16 kernels there); CUDA is where it pays.
/// </summary>
[Collection(nameof(MemoryCollection))]
public class AutocastTests
{
    private static nn.Module<Tensor, Tensor>[] Layers() =>
    [
        nn.Conv2d(3, 8, 3, padding: 1, bias: false), nn.BatchNorm2d(8), nn.ReLU(inplace: true), nn.MaxPool2d(2),
        nn.Conv2d(8, 4, 3, padding: 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 5),
    ];

    private static double RelativeError(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        return (a - b).norm().item<float>() / (double)b.norm().item<float>();
    }

    [Fact]
    public void A_chain_has_sequentials_keys_loads_its_checkpoints_and_computes_the_same_in_fp32()
    {
        manual_seed(3);
        using var sequential = nn.Sequential(Layers());
        manual_seed(4);
        using var chain = new Chain(Layers());
        Assert.Equal(sequential.state_dict().Keys.ToList(), chain.state_dict().Keys.ToList());
        Assert.Contains("0.weight", chain.state_dict().Keys);
        Assert.Contains("1.running_mean", chain.state_dict().Keys);

        // A checkpoint written from a Sequential (as before chains) loads into a chain.
        using (var ms = new MemoryStream())
        {
            using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true)) sequential.save(w);
            ms.Position = 0;
            using var r = new BinaryReader(ms);
            chain.load(r);
        }
        using var x = randn(2, 3, 8, 8, generator: new Generator(5));
        using var expected = sequential.forward(x);
        using var actual = chain.forward(x);
        Assert.Equal(ScalarType.Float32, actual.dtype);
        Assert.True(expected.eq(actual).all().item<bool>(), "a chain in fp32 must compute exactly what the Sequential does");
    }

    [Fact]
    public void Under_bf16_an_encoder_computes_in_bf16_and_returns_fp32_close_to_fp32()
    {
        using var model = TestTrainers.Model(new TrainingOptions { Encoder = "resnet18", Seed = 2 });
        model.eval();
        using var x = randn(2, 3, 16, 16, generator: new Generator(6));
        using var full = model.forward(x);
        Tensor half;
        using (Autocast.Enter(ScalarType.BFloat16)) half = model.forward(x);
        using (half)
        {
            Assert.Equal(ScalarType.Float32, half.dtype);
            double error = RelativeError(half, full);
            // bf16 keeps 8 significant bits (relative rounding 2^-9 ≈ 0.2%) through 20 layers: a few percent at most;
            // zero would mean nothing was computed in bf16.
            Assert.InRange(error, 1e-4, 0.05);
        }
        Assert.Null(Autocast.Compute);
    }

    [Fact]
    public void Under_bf16_gradients_reach_the_fp32_parameters_close_to_fp32s()
    {
        using var model = TestTrainers.Model(new TrainingOptions { Encoder = "convnet", Seed = 2 });
        model.train();
        var loss = new NtXentLoss(0.5);
        using var x = randn(16, 3, 16, 16, generator: new Generator(7));
        Tensor[] Gradients(ScalarType? type)
        {
            foreach (var p in model.parameters()) p.grad?.zero_();
            using (Autocast.Enter(type))
            using (var scope = NewDisposeScope())
            {
                var z = model.forward(x);
                Assert.Equal(ScalarType.Float32, z.dtype);
                var l = loss.Compute(z.narrow(0, 0, 8), z.narrow(0, 8, 8));
                Assert.Equal(ScalarType.Float32, l.dtype);
                l.backward();
            }
            return model.parameters().Select(p => p.grad!.clone()).ToArray();
        }
        var full = Gradients(null);
        var half = Gradients(ScalarType.BFloat16);
        foreach (var p in model.parameters()) Assert.Equal(ScalarType.Float32, p.dtype);
        foreach (var g in half) Assert.Equal(ScalarType.Float32, g.dtype);
        using var a = cat(full.Select(g => g.flatten()).ToList(), 0);
        using var b = cat(half.Select(g => g.flatten()).ToList(), 0);
        double cosine = nn.functional.cosine_similarity(a.unsqueeze(0), b.unsqueeze(0)).item<float>();
        Assert.True(cosine > 0.98 && cosine < 1.0, $"cosine of bf16 and fp32 gradients {cosine}");
        foreach (var g in full.Concat(half)) g.Dispose();
    }

    [Fact]
    public void The_trainer_in_bf16_fits_a_batch_and_keeps_fp32_weights()
    {
        var options = new TrainingOptions { Encoder = "convnet", Seed = 1, Threads = 1, LearningRate = 3e-3, Precision = "bf16" };
        using var trainer = TestTrainers.Create(options, 16);
        Assert.Equal("bf16", trainer.PrecisionName);
        var batch = new Batch(2, 16, 16) { Count = 16 };
        new Random(4).NextBytes(batch.Pixels);
        double first = trainer.TrainStep(batch, 0.5);
        double last = first;
        for (int i = 0; i < 30; i++) last = trainer.TrainStep(batch, 0.5);
        Assert.True(last < first - 0.1, $"30 bf16 steps on one batch took the loss from {first:F3} to {last:F3}");
        Assert.All(trainer.Method.Model.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        Assert.Null(Autocast.Compute); // the step's scope ended
    }

    [Fact]
    public void Precision_resolves_per_device_and_refuses_other_types()
    {
        Assert.Null(new TrainingOptions().ComputeType(CPU));                      // auto on the CPU with the small ConvNet: fp32 on any CPU
        Assert.Null(new TrainingOptions { Precision = "fp32" }.ComputeType(CPU));
        Assert.Equal(ScalarType.BFloat16, new TrainingOptions { Precision = "bf16" }.ComputeType(CPU));
        Assert.Equal(ScalarType.BFloat16, new TrainingOptions().ComputeType(new Device(DeviceType.CUDA, 0))); // auto on CUDA
        Assert.Throws<ArgumentException>(() => Autocast.Enter(ScalarType.Float64));
        Assert.Throws<ArgumentException>(() => new TrainingOptions { Precision = "fp8" }.ComputeType(CPU));
    }
}
