using Contrastive.Training.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training.Tests;

/// <summary>CLIP's loss, logit scale, text tower, zero-shot scorer and retrieval recall.</summary>
public sealed class ClipTests
{
    private static double[,] Rows(int n, int d, int seed)
    {
        var rng = new Random(seed);
        var m = new double[n, d];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) m[i, j] = rng.NextDouble() * 2 - 1;
        return m;
    }

    private static Tensor ToTensor(double[,] m) => tensor(m.Cast<double>().ToArray(), [m.GetLength(0), m.GetLength(1)], ScalarType.Float64);

    /// <summary>CLIP's symmetric loss in plain double arithmetic: normalise, scale the cosine logits, mean of both cross-entropies.</summary>
    private static double PlainClipLoss(double[,] images, double[,] texts, double scale)
    {
        int n = images.GetLength(0), d = images.GetLength(1);
        double[] Norm(double[,] m, int i)
        {
            double s = 0;
            for (int j = 0; j < d; j++) s += m[i, j] * m[i, j];
            return Enumerable.Range(0, d).Select(j => m[i, j] / Math.Sqrt(s)).ToArray();
        }
        var a = Enumerable.Range(0, n).Select(i => Norm(images, i)).ToArray();
        var b = Enumerable.Range(0, n).Select(i => Norm(texts, i)).ToArray();
        var logits = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) logits[i, j] = scale * a[i].Zip(b[j], (x, y) => x * y).Sum();
        double rows = 0, cols = 0;
        for (int i = 0; i < n; i++)
        {
            double lseRow = Math.Log(Enumerable.Range(0, n).Sum(j => Math.Exp(logits[i, j])));
            double lseCol = Math.Log(Enumerable.Range(0, n).Sum(j => Math.Exp(logits[j, i])));
            rows += lseRow - logits[i, i];
            cols += lseCol - logits[i, i];
        }
        return (rows / n + cols / n) / 2;
    }

    [Fact]
    public void The_symmetric_loss_matches_a_plain_double_precision_computation()
    {
        var (images, texts) = (Rows(7, 5, 1), Rows(7, 5, 2));
        using var logScale = tensor(Math.Log(1 / 0.07), ScalarType.Float64);
        using var loss = ClipLoss.Compute(ToTensor(images), ToTensor(texts), logScale);
        Assert.Equal(PlainClipLoss(images, texts, 1 / 0.07), loss.item<double>(), 10);
        // Swapping the towers leaves a symmetric loss unchanged.
        using var swapped = ClipLoss.Compute(ToTensor(texts), ToTensor(images), logScale);
        Assert.Equal(loss.item<double>(), swapped.item<double>(), 12);
    }

    [Fact]
    public void The_logit_scale_is_clamped_at_100_in_the_loss_and_after_each_step()
    {
        var (images, texts) = (Rows(6, 4, 3), Rows(6, 4, 4));
        using var big = tensor(Math.Log(400.0), ScalarType.Float64);
        using var loss = ClipLoss.Compute(ToTensor(images), ToTensor(texts), big);
        Assert.Equal(PlainClipLoss(images, texts, 100), loss.item<double>(), 10);
        Assert.NotEqual(PlainClipLoss(images, texts, 400), loss.item<double>(), 3);

        // The method clamps its parameter to [0, ln 100] after every optimizer step, and starts at 1/0.07.
        var context = new MethodContext(new TrainingOptions { Method = "clip", Encoder = "convnet", Seed = 1 },
            new ClipOptions { TextWidth = 16, TextLayers = 1, TextHeads = 2, EmbedDim = 8, ContextLength = 12 }, CPU, 16);
        using var clip = new ClipMethod(context, (ClipOptions)context.Options);
        Assert.Equal(1 / 0.07, clip.LogitScale, 3);
        using (no_grad()) clip.Network.LogScale.fill_(Math.Log(400.0));
        clip.AfterStep(0.5);
        Assert.Equal(Math.Log(100), clip.Network.LogScale.item<float>(), 5);
        using (no_grad()) clip.Network.LogScale.fill_(-1);
        clip.AfterStep(0.5);
        Assert.Equal(0, clip.Network.LogScale.item<float>(), 6);
    }

    [Fact]
    public void The_ranks_shares_of_the_global_loss_average_to_the_loss_of_the_whole_batch_with_the_same_gradient()
    {
        // Two "ranks" of 3 samples each; rows rank-major, each rank's images then its texts.
        var (images, texts) = (Rows(6, 5, 5), Rows(6, 5, 6));
        using var i = ToTensor(images);
        using var t = ToTensor(texts);
        var all = cat([i.narrow(0, 0, 3), t.narrow(0, 0, 3), i.narrow(0, 3, 3), t.narrow(0, 3, 3)], 0).detach().requires_grad_(true);
        using var logScale = tensor(2.5, ScalarType.Float64).requires_grad_(true);
        var mean = (ClipLoss.GlobalShare(all, 0, 3, 2, logScale) + ClipLoss.GlobalShare(all, 6, 3, 2, logScale)) / 2;
        mean.backward();
        var whole = ClipLoss.Compute(i, t, logScale);
        Assert.Equal(whole.item<double>(), mean.item<double>(), 12);
        Assert.Equal(PlainClipLoss(images, texts, Math.Exp(2.5)), mean.item<double>(), 10);

        var i2 = i.detach().clone().requires_grad_(true);
        var t2 = t.detach().clone().requires_grad_(true);
        using var logScale2 = tensor(2.5, ScalarType.Float64).requires_grad_(true);
        ClipLoss.Compute(i2, t2, logScale2).backward();
        var expected = cat([i2.grad!.narrow(0, 0, 3), t2.grad!.narrow(0, 0, 3), i2.grad!.narrow(0, 3, 3), t2.grad!.narrow(0, 3, 3)], 0);
        Assert.True(all.grad!.allclose(expected, rtol: 1e-10, atol: 1e-12));
        Assert.Equal(logScale2.grad!.item<double>(), logScale.grad!.item<double>(), 12);
    }

    [Fact]
    public void The_text_tower_reads_a_caption_up_to_its_end_token_only()
    {
        manual_seed(3);
        using var tower = new TextTransformer(vocabulary: 50, context: 10, width: 16, layers: 2, heads: 4, embedDim: 6);
        tower.eval();
        // Two captions: lengths 4 and 6; what follows the end token (padding, or anything) must not change the result.
        var rows = new long[,] { { 48, 5, 6, 49, 0, 0, 0, 0, 0, 0 }, { 48, 7, 8, 9, 10, 49, 0, 0, 0, 0 } };
        var noise = new long[,] { { 48, 5, 6, 49, 30, 31, 32, 33, 34, 35 }, { 48, 7, 8, 9, 10, 49, 11, 12, 13, 14 } };
        using var lengths = tensor(new long[] { 4, 6 });
        using var a = tower.forward(tensor(rows.Cast<long>().ToArray(), [2, 10]), lengths);
        using var b = tower.forward(tensor(noise.Cast<long>().ToArray(), [2, 10]), lengths);
        Assert.Equal(new long[] { 2, 6 }, a.shape);
        Assert.True(a.allclose(b, rtol: 1e-5, atol: 1e-6));
        // Alone in a batch, the first caption is computed over its own 4 ids only: the same feature.
        using var alone = tower.forward(tensor(new long[] { 48, 5, 6, 49 }, [1, 4]), tensor(new long[] { 4 }));
        Assert.True(alone.allclose(a.narrow(0, 0, 1), rtol: 1e-5, atol: 1e-6));
        // A token before the end does change it.
        var changed = (long[,])rows.Clone();
        changed[0, 1] = 20;
        using var c = tower.forward(tensor(changed.Cast<long>().ToArray(), [2, 10]), lengths);
        Assert.False(c.narrow(0, 0, 1).allclose(a.narrow(0, 0, 1), rtol: 1e-3, atol: 1e-4));
        Assert.True(c.narrow(0, 1, 1).allclose(a.narrow(0, 1, 1), rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void Zero_shot_averages_normalised_prompt_embeddings_per_class_and_picks_the_nearest_class()
    {
        var prompts = ZeroShot.Prompts(["cat", "dog", "bird"], ["a photo of a {}.", "a {} again."]);
        Assert.Equal(["a photo of a cat.", "a cat again.", "a photo of a dog.", "a dog again.", "a photo of a bird.", "a bird again."], prompts);

        // Class c's two prompts point near axis c, at different lengths (normalised before averaging).
        var p = new float[,] { { 10, 1, 0 }, { 1, 0.1f, 0 }, { 0, 3, 1 }, { 1, 30, 0 }, { 0, 0, 2 }, { 0.5f, 0, 5 } };
        using var classes = ZeroShot.ClassEmbeddings(tensor(p.Cast<float>().ToArray(), [6, 3]), 3, 2);
        Assert.True(classes.norm(1).allclose(ones(3), atol: 1e-6));
        // Images: near axis 0, 1, 2, 1 with labels 0, 1, 2, 0 (the last one wrong at top-1, right at top-2).
        var images = tensor(new float[] { 2, 0.1f, 0, 0, 1, 0.2f, 0.1f, 0, 3, 0.1f, 1, 0 }, [4, 3]);
        var labels = tensor(new long[] { 0, 1, 2, 0 });
        var (top1, top2) = ZeroShot.Accuracy(images, labels, classes, k: 2);
        Assert.Equal(0.75, top1, 12);
        Assert.Equal(1.0, top2, 12);
        Assert.Equal(1.0, ZeroShot.Accuracy(images, labels, classes, k: 5).TopK, 12); // k above the classes: all of them

        Assert.Throws<ArgumentException>(() => ZeroShot.Prompts(["cat"], ["no placeholder"]));
        Assert.Throws<ArgumentException>(() => ZeroShot.Prompts(["cat", " "], ["a {}"]));
        Assert.Throws<ArgumentException>(() => ZeroShot.Accuracy(images, tensor(new long[] { 0, 1, 2, 3 }), classes)); // label 3 of 3 classes
    }

    [Fact]
    public void Retrieval_recall_counts_the_true_partner_among_the_k_nearest_and_ties_do_not_demote_it()
    {
        // 4 pairs on axes; text 2 is closer to image 3 than text 3 is; text 1 equals text 0 (a duplicate caption).
        var images = tensor(new float[] { 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0.6f, 1 }, [4, 4]);
        var texts = tensor(new float[] { 1, 0.2f, 0, 0, 1, 0.2f, 0, 0, 0, 0, 1, 0.1f, 0, 0, 0, 1 }, [4, 4]);
        var (i2t, t2i) = Retrieval.Recall(images, texts, [1, 2, 4]);
        // image 0: text 0 = text 1 (tie), rank 0. image 1 (axis 1): text 0/1 tie best, rank 0. image 2: text 2 first.
        // image 3 (0.6 on axis 2, 1 on axis 3): text 3 cos 0.857, text 2 cos 0.59: rank 0.
        Assert.Equal([1.0, 1.0, 1.0], i2t);
        // text 3 (axis 3): image 3 best. text 2 (axis 2 mostly): image 2 cos 0.995 beats image 3 → rank 0.
        // text 0 and text 1: image 0 cos 0.98, image 1 cos 0.196 → text 1's own image (1) ranks second.
        Assert.Equal([0.75, 1.0, 1.0], t2i);
        Assert.Throws<ArgumentException>(() => Retrieval.Recall(images, texts.narrow(0, 0, 3), [1]));
    }
}
