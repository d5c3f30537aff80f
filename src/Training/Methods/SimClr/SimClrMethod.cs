using Contrastive.Augment;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>SimCLR: two views of each image, an encoder and projection head, NT-Xent over the batch's 2n projections.</summary>
public sealed class SimClrMethod(MethodContext context, SimClrOptions options) : PairContrastMethod(context, options.ProjectionDim, "simclr"), IGlobalNegatives
{
    public double Temperature => options.Temperature;

    /// <summary>Each sample's two views share an instance key: the other view is the only positive.</summary>
    public long[] RowKeys(Batch batch)
    {
        int n = batch.Count;
        var keys = new long[2 * n];
        for (int i = 0; i < n; i++) keys[i] = keys[n + i] = -1 - i;
        return keys;
    }

    private readonly NtXentLoss _loss = new(options.Temperature);

    public override Tensor LossOn(Tensor z, Batch batch)
    {
        int n = batch.Count;
        return _loss.Compute(z.narrow(0, 0, n), z.narrow(0, n, n));
    }
}
