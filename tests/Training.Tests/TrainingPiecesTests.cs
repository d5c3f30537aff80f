using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training.Tests;

public class NtXentLossTests
{
    [Fact]
    public void The_learning_rate_follows_simclrs_batch_rule_for_sgd_and_lars_and_is_as_given_for_adamw()
    {
        Assert.Equal(1e-3, new TrainingOptions().EffectiveLearningRate(512), 12);                             // adamw: not scaled
        Assert.Equal(0.3 * 512 / 256, new TrainingOptions { Optimizer = "lars" }.EffectiveLearningRate(512), 12); // base 0.3 × batch / 256
        Assert.Equal(0.3 * 64 / 256, new TrainingOptions { Optimizer = "sgd" }.EffectiveLearningRate(64), 12);
        Assert.Equal(1.2 * 4096 / 256, new TrainingOptions { Optimizer = "lars", LearningRate = 1.2 }.EffectiveLearningRate(4096), 12);
        Assert.Equal(0.05, new TrainingOptions { Optimizer = "sgd", LearningRate = 0.05, LrBatchScaling = false }.EffectiveLearningRate(1024), 12);
        Assert.Equal(2e-3 * 2, new TrainingOptions { LearningRate = 2e-3, LrBatchScaling = true }.EffectiveLearningRate(512), 12);
    }

    [Fact]
    public void Equals_cross_entropy_over_the_masked_similarity_matrix_computed_by_hand()
    {
        using var scope = NewDisposeScope();
        float[,] a = { { 1, 0 }, { 0, 1 } };
        float[,] b = { { 1, 1 }, { -1, 1 } };
        double t = 0.5;
        double loss = new NtXentLoss(t).Compute(tensor(a), tensor(b)).item<float>();

        // Hand computation: normalise rows, then for each of the 4 anchors softmax over the 3 others.
        double s = 1 / Math.Sqrt(2);
        double[][] z = [[1, 0], [0, 1], [s, s], [-s, s]];
        int[] positive = [2, 3, 0, 1];
        double total = 0;
        for (int i = 0; i < 4; i++)
        {
            double denom = 0;
            for (int j = 0; j < 4; j++)
                if (j != i) denom += Math.Exp((z[i][0] * z[j][0] + z[i][1] * z[j][1]) / t);
            int p = positive[i];
            double pos = Math.Exp((z[i][0] * z[p][0] + z[i][1] * z[p][1]) / t);
            total += -Math.Log(pos / denom);
        }
        Assert.Equal(total / 4, loss, 5);
    }

    [Fact]
    public void Aligned_pairs_cost_less_than_unrelated_ones_and_gradients_flow()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        var z1 = randn(16, 8, requires_grad: true);
        var loss = new NtXentLoss(0.2);
        var aligned = loss.Compute(z1, z1.detach() * 2).item<float>();
        var unrelated = loss.Compute(z1.detach(), randn(16, 8)).item<float>();
        Assert.True(aligned < unrelated);
        var l = loss.Compute(z1, randn(16, 8));
        l.backward();
        Assert.True(z1.grad!.abs().sum().item<float>() > 0);
    }
}

public class LrScheduleTests
{
    [Fact]
    public void Warms_up_linearly_then_decays_on_a_cosine()
    {
        var s = new LrSchedule(0.1, WarmupFraction: 0.1);
        Assert.Equal(0.05, s.At(0.05), 9);
        Assert.Equal(0.1, s.At(0.1), 9);
        Assert.Equal(0.05, s.At(0.55), 9);
        Assert.Equal(0.0, s.At(1.0), 9);
        Assert.Equal(1e-4, s.At(0), 9);
    }
}

public class CheckpointStoreTests
{
    [Fact]
    public void Round_trips_and_skips_a_corrupted_newest_file()
    {
        string dir = Path.Combine(Path.GetTempPath(), "ckpt-" + Guid.NewGuid().ToString("N"));
        try
        {
            var store = new CheckpointStore(dir, keep: 2);
            store.Write(new CheckpointInfo { Step = 10, ImageSize = 32 }, [1, 2, 3], [4, 5]);
            store.Write(new CheckpointInfo { Step = 20, ImageSize = 32 }, [6, 7], [8]);
            string newest = store.Write(new CheckpointInfo { Step = 30, ImageSize = 32 }, [9], [10, 11]);
            Assert.Equal(2, store.List().Count); // pruned to the newest two

            var read = CheckpointStore.Read(newest);
            Assert.Equal(30, read.Info.Step);
            Assert.Equal(new byte[] { 9 }, read.Model);
            Assert.Equal(new byte[] { 10, 11 }, read.Optimizer);

            var bytes = File.ReadAllBytes(newest);
            bytes[bytes.Length / 2] ^= 0xFF;
            File.WriteAllBytes(newest, bytes);
            var skipped = new List<string>();
            var latest = store.LatestIntact(skipped.Add);
            Assert.Equal(20, latest!.Info.Step);
            Assert.Single(skipped);
            Assert.Contains("checksum", skipped[0]);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }
}

public class KnnClassifierTests
{
    [Fact]
    public void Classifies_separated_clusters_perfectly_and_random_labels_at_chance()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var centers = tensor(new float[,] { { 10, 0, 0 }, { 0, 10, 0 }, { 0, 0, 10 } });
        var bankLabels = arange(300, dtype: ScalarType.Int64) % 3;
        var bank = centers.index_select(0, bankLabels) + randn(300, 3);
        var testLabels = arange(90, dtype: ScalarType.Int64) % 3;
        var test = centers.index_select(0, testLabels) + randn(90, 3);
        Assert.Equal(1.0, KnnClassifier.Top1(bank, bankLabels, test, testLabels));

        var shuffled = randint(0, 3, 300, dtype: ScalarType.Int64);
        Assert.InRange(KnnClassifier.Top1(bank, shuffled, test, testLabels), 0.1, 0.6);
    }
}

public class EncoderTests
{
    [Theory]
    [InlineData("convnet", 32, 2304)]
    [InlineData("convnet", 28, 2304)]
    [InlineData("resnet18", 32, 512)]
    [InlineData("resnet34", 32, 512)]
    [InlineData("resnet50", 32, 2048)]
    public void Encoders_map_images_to_features(string name, int size, int dim)
    {
        using var scope = NewDisposeScope();
        using var e = Encoder.Create(name, smallImages: true);
        Assert.Equal(dim, e.FeatureDim);
        var y = e.forward(randn(2, 3, size, size));
        Assert.Equal(new long[] { 2, dim }, y.shape);
    }

    [Fact]
    public void The_convnet_pools_to_its_grid_and_checkpoints_keep_the_grid()
    {
        using (var scope = NewDisposeScope())
        using (var global = Encoder.Create("convnet", smallImages: true, convNetPool: 1))
            Assert.Equal(new long[] { 2, 256 }, global.forward(randn(2, 3, 28, 28)).shape);

        string dir = Path.Combine(Path.GetTempPath(), "cp-pool-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var pool1 = TestTrainers.Create(new TrainingOptions { Seed = 1, ConvNetPool = 1 }, 16, batchSize: 8);
            var data = CheckpointStore.Read(pool1.SaveCheckpoint(new CheckpointStore(dir), 0, null));
            Assert.Equal(1, data.Info.ConvNetPool);
            // Rebuilt from the file alone with its own grid (eval, embed): 256 features, not the default's 2,304.
            var loaded = ContrastiveTrainer.Load(data, CPU);
            Assert.Equal(256, ((ImageMethod)loaded).Network.Encoder.FeatureDim);
            (loaded as IDisposable)?.Dispose();
            // A run on the default grid refuses to resume it, and says why.
            using var pool2 = TestTrainers.Create(new TrainingOptions { Seed = 1 }, 16, batchSize: 8);
            var e = Assert.Throws<InvalidDataException>(() => pool2.Restore(data));
            Assert.Contains("Training:ConvNetPool 1 (this run: 3)", e.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
        // Files written before the setting existed have no such key: global average pooling, as they were trained.
        const string old = "{\"Format\":2,\"Method\":\"simclr\",\"Encoder\":\"convnet\",\"ImageSize\":32}";
        Assert.Equal(1, System.Text.Json.JsonSerializer.Deserialize<CheckpointInfo>(old)!.ConvNetPool);
    }

    [Fact]
    public void The_resnet_stem_follows_the_views_and_checkpoints_keep_it()
    {
        var auto = new TrainingOptions { Encoder = "resnet18" };
        Assert.True(auto.SmallStem(32));
        Assert.True(auto.SmallStem(TrainingOptions.SmallStemBelow - 1));
        Assert.False(auto.SmallStem(TrainingOptions.SmallStemBelow));
        Assert.False(auto.SmallStem(224));
        Assert.True(new TrainingOptions { Stem = "Small" }.SmallStem(224));
        Assert.False(new TrainingOptions { Stem = "imagenet" }.SmallStem(32));

        static long[] FirstConv(IContrastiveMethod method) => ((ImageMethod)method).Network.Encoder.parameters().First().shape;
        string dir = Path.Combine(Path.GetTempPath(), "cp-stem-" + Guid.NewGuid().ToString("N"));
        try
        {
            // auto at 96 px: ImageNet's 7×7 stride-2 stem, recorded in the checkpoint.
            using var imagenet = TestTrainers.Create(new TrainingOptions { Seed = 1, Encoder = "resnet18" }, 96, batchSize: 4);
            Assert.Equal(new long[] { 64, 3, 7, 7 }, FirstConv(imagenet.Method));
            var data = CheckpointStore.Read(imagenet.SaveCheckpoint(new CheckpointStore(Path.Combine(dir, "a")), 0, null));
            Assert.False(data.Info.SmallImages);
            // The small stem chosen at the same size: 3×3; a checkpoint of it is rebuilt with it, whatever auto would pick.
            using var small = TestTrainers.Create(new TrainingOptions { Seed = 1, Encoder = "resnet18", Stem = "small" }, 96, batchSize: 4);
            Assert.Equal(new long[] { 64, 3, 3, 3 }, FirstConv(small.Method));
            var smallData = CheckpointStore.Read(small.SaveCheckpoint(new CheckpointStore(Path.Combine(dir, "b")), 0, null));
            Assert.True(smallData.Info.SmallImages);
            var loaded = ContrastiveTrainer.Load(smallData, CPU);
            Assert.Equal(new long[] { 64, 3, 3, 3 }, FirstConv(loaded));
            (loaded as IDisposable)?.Dispose();
            // Resuming under the other stem is refused with the setting that would resume it.
            var e = Assert.Throws<InvalidDataException>(() => small.Restore(data));
            Assert.Contains("Training:Stem imagenet (this run: small; --stem imagenet resumes it)", e.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>torchvision's resnet18/34/50 hold 11,689,512 / 21,797,672 / 25,557,032 parameters with their 1000-class fc layer
    /// (512·1000 + 1000, or 2048·1000 + 1000); without it, with the ImageNet stem, the backbones must match exactly.</summary>
    [Theory]
    [InlineData("resnet18", 11_689_512 - 513_000)]
    [InlineData("resnet34", 21_797_672 - 513_000)]
    [InlineData("resnet50", 25_557_032 - 2_049_000)]
    public void ResNets_have_torchvisions_parameter_counts(string name, long expected)
    {
        using var e = Encoder.Create(name, smallImages: false);
        Assert.Equal(expected, e.parameters().Sum(p => p.numel()));
        using var scope = NewDisposeScope();
        Assert.Equal(new long[] { 1, e.FeatureDim }, e.forward(randn(1, 3, 64, 64)).shape);
    }
}
