using Contrastive.Augment;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// One self-supervised method, as the shared <see cref="ContrastiveTrainer"/> drives it: the modules it trains, its loss
/// on a batch, what it updates after each optimizer step (a moving-average target, a queue, a centre), its own state for
/// checkpoints and the embedding evaluation uses. Its <see cref="MethodRegistration"/> says which data and views it needs.
/// Everything all methods share (optimizer, schedule, clipping, precision, gradient caching, checkpoints) is the trainer's.
/// </summary>
public interface IContrastiveMethod : IDisposable
{
    /// <summary>The network whose weights are a checkpoint's model (evaluation loads it back into a fresh method).</summary>
    nn.Module Model { get; }

    /// <summary>The parameters the optimizer trains (targets, teachers and key networks are not among them).</summary>
    IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>The loss of one training batch, with its graph (the trainer runs backward). <paramref name="progress"/> ∈ [0, 1].</summary>
    Tensor Loss(Batch batch, double progress);

    /// <summary>After the optimizer step: moving-average targets, queues, centres. <paramref name="progress"/> ∈ [0, 1].</summary>
    void AfterStep(double progress) { }

    /// <summary>State beyond the model's weights (targets, queues, centres, predictors); empty when there is none.</summary>
    byte[] SaveState() => [];

    /// <summary>Restores what <see cref="SaveState"/> wrote.</summary>
    void LoadState(byte[] state) { }

    /// <summary>Features for evaluation (kNN, linear probe) of a batch's first view, [Count, D], without a graph.</summary>
    Tensor Embed(Batch batch);

    /// <summary>Gradient-norm clipping when the run sets none (DINO: 3, the paper's); 0 = none.</summary>
    double DefaultClipGradNorm => 0;

    /// <summary>Figures of the last step beyond the loss, for the metrics log (CPC: accuracy per step ahead).</summary>
    IReadOnlyList<(string Name, double Value)> LastMetrics => [];
}

/// <summary>
/// A method whose loss is a function of per-view representations that are computed independently of one another (SimCLR,
/// SupCon): gradient caching (<see cref="GradCache"/>) can then split the encoding into chunks and still give the full
/// batch's gradient (up to BatchNorm statistics, which are per chunk).
/// </summary>
public interface IRepresentationLoss
{
    /// <summary>The rows to encode (e.g. both views of every sample, [2n, 3, S, S]).</summary>
    Tensor Inputs(Batch batch);

    /// <summary>Representations of rows of <see cref="Inputs"/>, with a graph.</summary>
    Tensor Encode(Tensor rows);

    /// <summary>The loss over all the representations of the batch.</summary>
    Tensor LossOn(Tensor representations, Batch batch);
}

/// <summary>
/// A representation loss whose negatives can be the whole global batch when several processes train together (SimCLR,
/// SupCon): the trainer then gathers every rank's representations and applies <see cref="GlobalContrastLoss"/> with
/// these keys and temperature, in two stages (<see cref="GlobalBatch"/>).
/// </summary>
public interface IGlobalNegatives : IRepresentationLoss
{
    /// <summary>
    /// A key per row of <see cref="IRepresentationLoss.Inputs"/>: rows with equal keys are positives. Non-negative keys are
    /// global (class labels); negative keys are instance ids within this process's batch (made distinct across ranks).
    /// </summary>
    long[] RowKeys(Batch batch);

    /// <summary>The softmax temperature.</summary>
    double Temperature { get; }
}

/// <summary>
/// A method with an image tower and a text tower that map into one embedding (CLIP): zero-shot classification, image-text
/// retrieval and `contrastive embed --text` use it. Embeddings are L2-normalised, on the CPU, without a graph.
/// </summary>
public interface IImageTextMethod
{
    /// <summary>The tokenizer the text tower was trained with (its name is in the checkpoint's options).</summary>
    Text.CaptionTokenizer Tokenizer { get; }

    /// <summary>Joint embeddings of a batch's first view, [Count, E].</summary>
    Tensor EmbedImages(Batch batch);

    /// <summary>Joint embeddings of token rows [n, L] (ids as <see cref="Text.CaptionTokenizer"/> writes them) with their lengths [n].</summary>
    Tensor EmbedTexts(Tensor tokens, Tensor lengths);
}

/// <summary>
/// A loss over the global batch whose rows are not one representation per view (CLIP: images and texts): in data-parallel
/// training the trainer gathers every rank's <see cref="EncodeRows"/> and back-propagates this rank's
/// <see cref="GlobalShare"/> through the gathered rows (two stages, as <see cref="GlobalBatch"/>), so every rank's samples
/// are negatives of every other's.
/// </summary>
public interface IGlobalBatchLoss
{
    /// <summary>This rank's rows, [m, D], with their graph (every rank has the same m).</summary>
    Tensor EncodeRows(Batch batch);

    /// <summary>
    /// This rank's share of the loss given every rank's rows <paramref name="all"/> [W·m, D] (rank-major), this rank's
    /// first row and row count: the shares' mean over ranks must be the global batch's loss.
    /// </summary>
    Tensor GlobalShare(Tensor all, long first, long count, int worldSize);
}
