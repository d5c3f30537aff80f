using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// Weighted k-nearest-neighbour classification on L2-normalised features (Wu et al. 2018, as used to
/// evaluate SimCLR / MoCo / DINO): the k most cosine-similar bank features vote for their labels with
/// weight exp(similarity / T). Defaults k = 20, T = 0.1.
/// </summary>
public static class KnnClassifier
{
    /// <returns>Top-1 accuracy on the test features.</returns>
    public static double Top1(Tensor bankFeatures, Tensor bankLabels, Tensor testFeatures, Tensor testLabels, int k = 20, double temperature = 0.1, int chunk = 512)
    {
        long nTest = testFeatures.shape[0];
        if (nTest == 0) throw new ArgumentException("no test samples for kNN");
        if (bankFeatures.shape[0] == 0) throw new ArgumentException("no bank samples for kNN");
        using var scope = NewDisposeScope();
        var bank = nn.functional.normalize(bankFeatures.to_type(ScalarType.Float32), p: 2, dim: 1);
        var test = nn.functional.normalize(testFeatures.to_type(ScalarType.Float32), p: 2, dim: 1);
        var bankY = bankLabels.to_type(ScalarType.Int64);
        long classes = Math.Max(bankY.max().item<long>(), testLabels.max().item<long>()) + 1;
        int kk = (int)Math.Min(k, bank.shape[0]);
        long correct = 0;
        for (long start = 0; start < nTest; start += chunk)
        {
            using var inner = NewDisposeScope();
            long n = Math.Min(chunk, nTest - start);
            var q = test.narrow(0, start, n);
            var sim = q.matmul(bank.t());
            var (topSim, topIdx) = sim.topk(kk, dim: 1);
            var topLabels = bankY.index_select(0, topIdx.flatten()).view(n, kk);
            var weights = (topSim / temperature).exp();
            var votes = zeros(n, classes, device: q.device).scatter_add_(1, topLabels, weights);
            var pred = votes.argmax(1);
            correct += pred.eq(testLabels.narrow(0, start, n).to_type(ScalarType.Int64).to(q.device)).sum().item<long>();
        }
        return (double)correct / nTest;
    }
}
