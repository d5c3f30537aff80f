using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training.Tests;

public class LinearProbeTests
{
    [Fact]
    public void Separable_classes_score_near_one_and_shuffled_labels_near_chance()
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(3);
        Tensor Blobs(int n, out Tensor labels)
        {
            labels = arange(n, dtype: ScalarType.Int64) % 4;
            var centres = randn(new long[] { 4, 16 }, generator: new Generator(11)) * 3;
            return centres.index_select(0, labels) + randn(new long[] { n, 16 }, generator: gen) * 0.5 + 100; // an offset the standardisation removes
        }
        var xTrain = Blobs(400, out var yTrain);
        var xTest = Blobs(200, out var yTest);
        Assert.True(LinearProbe.Top1(xTrain, yTrain, xTest, yTest) > 0.97);
        var shuffled = yTrain.index_select(0, randperm(400, generator: gen));
        Assert.InRange(LinearProbe.Top1(xTrain, shuffled, xTest, yTest), 0.0, 0.45);
    }

    [Fact]
    public void Features_constant_over_the_training_set_are_left_out_whatever_their_test_values()
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(5);
        var labels = arange(300, dtype: ScalarType.Int64) % 3;
        var centres = randn(new long[] { 3, 8 }, generator: new Generator(7)) * 2;
        var informative = centres.index_select(0, labels) + randn(new long[] { 300, 8 }, generator: gen);
        var (train, yTrain) = (informative[..200], labels[..200]);
        var (test, yTest) = (informative[200..], labels[200..]);
        // Six columns constant in training (as a border pixel of generated images), far from it in the test set.
        var constantTrain = full(new long[] { 200, 6 }, 0.3f);
        var wildTest = rand(new long[] { 100, 6 }, generator: gen) * 5;
        double Probe(Tensor testExtra) => LinearProbe.Top1(cat([train, constantTrain], 1), yTrain, cat([test, testExtra], 1), yTest, epochs: 100, seed: 1);
        double wild = Probe(wildTest), same = Probe(full(new long[] { 100, 6 }, 0.3f)), other = Probe(wildTest * -3);
        // Whatever the test set holds in those columns, the predictions are the informative columns' alone.
        Assert.True(same > 0.8, $"{same}");
        Assert.Equal(same, wild);
        Assert.Equal(same, other);
    }

    [Fact]
    public void The_learning_rate_falls_from_its_value_to_zero_on_a_cosine()
    {
        // At a constant rate the full-batch fit of a trained encoder's 2,304 features swung to the last epoch (one DINO
        // checkpoint: top-1 0.8565 and 0.8735 on the last two epochs); docs/benchmarks.md, "The linear probe".
        var schedule = LinearProbe.Schedule(0.05);
        double At(int epoch) => schedule.At(epoch / 300.0);
        Assert.Equal(0.05, At(0), 12);
        Assert.Equal(0.025, At(150), 12);
        Assert.InRange(At(299), 0.0, 0.05 * 1e-4);
        for (int e = 1; e < 300; e++) Assert.True(At(e) < At(e - 1));
    }

    [Fact]
    public void The_figure_is_the_settled_classifiers_so_a_few_epochs_more_or_less_change_it_by_little()
    {
        // Overlapping classes seen through sparse, ReLU-like features of very different scales, as a trained encoder's are.
        using var scope = NewDisposeScope();
        var gen = new Generator(5);
        var centres = randn(new long[] { 10, 24 }, generator: new Generator(13));
        var projection = randn(new long[] { 24, 400 }, generator: new Generator(17)) * (rand(new long[] { 1, 400 }, generator: new Generator(19)) * 3).exp();
        Tensor Features(int n, out Tensor labels)
        {
            labels = arange(n, dtype: ScalarType.Int64) % 10;
            var latent = centres.index_select(0, labels) + randn(new long[] { n, 24 }, generator: gen) * 1.2;
            return nn.functional.relu(latent.matmul(projection) - 2 * projection.abs().mean([0L], keepdim: true));
        }
        var xTrain = Features(3000, out var yTrain);
        var xTest = Features(1000, out var yTest);
        var scores = new[] { 280, 290, 300 }.Select(epochs => LinearProbe.Top1(xTrain, yTrain, xTest, yTest, epochs)).ToArray();
        Assert.True(scores.Max() - scores.Min() <= 0.01, $"top-1 after 280, 290, 300 epochs: {string.Join(", ", scores)}");
        Assert.True(scores.Min() > 0.9, $"top-1 {scores.Min()}: the classes are separable enough");
    }
}
