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
}
