using Contrastive.Training.Text;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// Zero-shot classification with an image-text model (CLIP, section 3.1.4): each class name is put into every prompt
/// template ("a photo of a {}."), the prompts are encoded by the text tower, the normalised embeddings of a class's
/// prompts are averaged (prompt ensembling) and normalised again, and an image is given the class whose embedding is the
/// most similar to its own.
/// </summary>
public static class ZeroShot
{
    /// <summary>CLIP's placeholder in a template.</summary>
    public const string Placeholder = "{}";

    /// <summary>Every class in every template, class-major: prompt c·T + t is template t filled with class c.</summary>
    /// <exception cref="ArgumentException">No class, no template, a blank class name or a template without {}.</exception>
    public static IReadOnlyList<string> Prompts(IReadOnlyList<string> classes, IReadOnlyList<string> templates)
    {
        if (classes.Count == 0) throw new ArgumentException("zero-shot classification needs class names");
        if (templates.Count == 0) throw new ArgumentException("zero-shot classification needs at least one prompt template");
        for (int c = 0; c < classes.Count; c++)
            if (string.IsNullOrWhiteSpace(classes[c])) throw new ArgumentException($"class {c} has an empty name");
        foreach (var t in templates)
            if (!t.Contains(Placeholder, StringComparison.Ordinal)) throw new ArgumentException($"the template '{t}' has no {Placeholder} for the class name");
        return classes.SelectMany(c => templates.Select(t => t.Replace(Placeholder, c.Trim(), StringComparison.Ordinal))).ToArray();
    }

    /// <summary>Token rows [n, Context] and lengths [n] of <paramref name="texts"/>, as the input pipeline writes them.</summary>
    public static (Tensor Tokens, Tensor Lengths) Tokenize(CaptionTokenizer tokenizer, IReadOnlyList<string> texts)
    {
        int n = texts.Count, context = tokenizer.ContextLength;
        var ids = new int[n * context];
        var lengths = new long[n];
        for (int i = 0; i < n; i++) lengths[i] = tokenizer.EncodeInto(texts[i], ids.AsSpan(i * context, context));
        return (tensor(ids, [n, context]), tensor(lengths));
    }

    /// <summary>
    /// One embedding per class [C, E]: the mean of the class's <paramref name="templates"/> prompt embeddings (rows of
    /// <paramref name="promptEmbeddings"/>, class-major, normalised first) normalised again.
    /// </summary>
    public static Tensor ClassEmbeddings(Tensor promptEmbeddings, int classes, int templates)
    {
        if (promptEmbeddings.shape[0] != (long)classes * templates)
            throw new ArgumentException($"{promptEmbeddings.shape[0]} prompt embeddings for {classes} classes × {templates} templates");
        using var scope = NewDisposeScope();
        var z = nn.functional.normalize(promptEmbeddings, p: 2, dim: 1).view(classes, templates, -1).mean([1]);
        return nn.functional.normalize(z, p: 2, dim: 1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Top-1 and top-k accuracy of classifying <paramref name="images"/> [N, E] (labels [N], 0 to C − 1) by cosine similarity
    /// to <paramref name="classEmbeddings"/> [C, E]; k is min(<paramref name="k"/>, C).
    /// </summary>
    public static (double Top1, double TopK) Accuracy(Tensor images, Tensor labels, Tensor classEmbeddings, int k = 5)
    {
        using var scope = NewDisposeScope();
        long n = images.shape[0], c = classEmbeddings.shape[0];
        if (n == 0) throw new ArgumentException("no images to classify");
        long maxLabel = labels.max().item<long>(), minLabel = labels.min().item<long>();
        if (minLabel < 0 || maxLabel >= c)
            throw new ArgumentException($"the labels run from {minLabel} to {maxLabel}, but there are {c} class names (label k is the k-th name)");
        var scores = nn.functional.normalize(images, p: 2, dim: 1).matmul(classEmbeddings.t());
        int kk = (int)Math.Min(k, c);
        var top = scores.topk(kk, dim: 1).indexes;
        var hit = top.eq(labels.view(-1, 1));
        double top1 = hit.narrow(1, 0, 1).any(1).to_type(ScalarType.Float64).mean().item<double>();
        double topK = hit.any(1).to_type(ScalarType.Float64).mean().item<double>();
        return (top1, topK);
    }
}
