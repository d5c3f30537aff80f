using Contrastive.Augment;
using Contrastive.Training.Text;
using static TorchSharp.torch;

namespace Contrastive.Training.Tests;

/// <summary>SimCSE: dropout makes the two views, the embedding is dropout-free, and training pulls a sentence's two encodings together.</summary>
public sealed class SimCseTests
{
    private static Batch Sentences(CaptionTokenizer tokenizer, params string[] texts)
    {
        var batch = new Batch(0, texts.Length, 0, 0, context: tokenizer.ContextLength) { Count = texts.Length };
        for (int i = 0; i < texts.Length; i++) batch.TokenLengths![i] = tokenizer.EncodeInto(texts[i], batch.TokenRow(i));
        return batch;
    }

    [Fact]
    public void Two_dropout_passes_are_the_views_the_embedding_is_deterministic_and_a_few_steps_lower_the_loss()
    {
        var options = new SimCseOptions { TextWidth = 32, TextLayers = 1, TextHeads = 2, EmbedDim = 16, ContextLength = 16, Dropout = 0.1 };
        var context = new MethodContext(new TrainingOptions { Method = "simcse", Seed = 4 }, options, CPU, 0);
        using var method = new SimCseMethod(context, options);
        var tokenizer = new CaptionTokenizer(options.ContextLength);
        var batch = Sentences(tokenizer, "a red circle on the left.", "a big blue square.", "there is a tiny green star at the top.", "a pink ring, huge, in the middle.");

        using var a = method.Embed(batch);
        using var b = method.Embed(batch);
        Assert.Equal(new long[] { 4, 16 }, a.shape);
        Assert.True(a.allclose(b, rtol: 0, atol: 0)); // no dropout when embedding
        Assert.True(a.norm(1).allclose(ones(4), atol: 1e-5));

        // In training mode the same sentences encode differently (dropout): the loss is not that of identical views.
        manual_seed(1);
        double first = method.Loss(batch, 0).item<float>();
        Assert.True(first > 0);
        using var optimizer = TorchSharp.torch.optim.Adam(method.Parameters, lr: 1e-3);
        double last = first;
        for (int step = 0; step < 30; step++)
        {
            optimizer.zero_grad();
            var loss = method.Loss(batch, step / 30.0);
            loss.backward();
            optimizer.step();
            last = loss.item<float>();
        }
        Assert.True(last < first / 2, $"loss {first} → {last}");
    }

    [Fact]
    public void A_batch_without_views_needs_a_token_plane()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Batch(0, 4, 0, 0));
        var batch = new Batch(0, 4, 0, 0, context: 8);
        Assert.Equal(0, batch.Views);
        Assert.Empty(batch.Pixels);
    }
}
