using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training.Tests;

public class GradCacheTests
{
    private static float[][] Grads(nn.Module model) => model.parameters().Select(p => p.grad!.data<float>().ToArray()).ToArray();

    [Theory]
    [InlineData(5)]   // uneven chunks: 5 + 5 + 5 + 5 + 4
    [InlineData(1)]
    [InlineData(24)]  // one chunk
    public void Chunked_gradients_equal_the_full_batch_gradient_of_NtXent(int chunk)
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(4);
        var model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 6));
        var x = randn(24, 8);
        var loss = new NtXentLoss(0.3);
        Tensor Loss(Tensor z) => loss.Compute(z.narrow(0, 0, 12), z.narrow(0, 12, 12));

        var full = Loss(model.forward(x));
        full.backward();
        var expected = Grads(model);
        double expectedLoss = full.item<float>();
        foreach (var p in model.parameters()) p.grad!.zero_();

        double cachedLoss = GradCache.Backward(model.forward, x, chunk, Loss);
        var actual = Grads(model);
        Assert.Equal(expectedLoss, cachedLoss, 5);
        for (int i = 0; i < expected.Length; i++)
            for (int k = 0; k < expected[i].Length; k++)
                Assert.Equal(expected[i][k], actual[i][k], 1e-5f);
        Assert.Contains(expected, g => g.Any(v => Math.Abs(v) > 1e-4)); // the comparison is not between zeros
    }

    [Fact]
    public void The_SimClr_trainer_takes_a_step_with_gradient_caching()
    {
        var options = new TrainingOptions { Encoder = "convnet", Seed = 2, GradCacheChunk = 6 };
        using var trainer = TestTrainers.Create(options, 8);
        var batch = new Batch(2, 8, 8) { Count = 8 };
        new Random(1).NextBytes(batch.Pixels);
        var before = trainer.Method.Model.parameters().First().data<float>().ToArray();
        double loss = trainer.TrainStep(batch, 0.5);
        Assert.InRange(loss, 0.1, 10);
        Assert.NotEqual(before, trainer.Method.Model.parameters().First().data<float>().ToArray());
    }
}
