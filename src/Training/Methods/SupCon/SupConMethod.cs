using Contrastive.Augment;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// SupCon: SimCLR's network and views, with every other view of the anchor's class as a positive. Both views of a sample
/// share its label; a sample without one is a class of its own.
/// </summary>
public sealed class SupConMethod(MethodContext context, SupConOptions options) : PairContrastMethod(context, options.ProjectionDim, "supcon"), IGlobalNegatives
{
    private readonly SupConLoss _loss = new(options.Temperature);

    public double Temperature => options.Temperature;

    public override Tensor LossOn(Tensor z, Batch batch) => _loss.Compute(z, tensor(RowKeys(batch), device: Device));

    /// <summary>Both views of a sample carry its label; a sample without one is an instance of its own.</summary>
    public long[] RowKeys(Batch batch)
    {
        int n = batch.Count;
        var keys = new long[2 * n];
        for (int i = 0; i < n; i++)
            keys[i] = keys[n + i] = batch.Labels[i] >= 0 ? batch.Labels[i] : -1 - batch.Indices[i];
        return keys;
    }
}
