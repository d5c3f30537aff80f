using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// Gradient caching (Gao et al. 2021): the gradient of a contrastive loss over a batch larger than memory allows for
/// one forward-backward. 1) encode the batch in chunks without autograd; 2) compute the loss over all the
/// representations and its gradient with respect to them; 3) encode each chunk again with autograd and back-propagate
/// that chunk's slice of the cached gradient. Parameter gradients equal the full-batch ones for models without
/// batch-dependent layers; with BatchNorm in training mode the statistics are per chunk (as in the paper).
/// Peak activation memory is one chunk's.
/// </summary>
internal static class GradCache
{
    /// <summary>
    /// Accumulates into the parameters' gradients the gradient of <paramref name="loss"/>(encode(<paramref name="input"/>))
    /// and returns the loss value. <paramref name="encode"/> maps rows of the input to rows of representations.
    /// </summary>
    public static double Backward(Func<Tensor, Tensor> encode, Tensor input, int chunk, Func<Tensor, Tensor> loss) =>
        Backward(encode, input, chunk, reps =>
        {
            var leaf = reps.detach().requires_grad_(true);
            var value = loss(leaf);
            value.backward();
            return (value.item<float>(), leaf.grad!.detach());
        });

    /// <summary>
    /// As above, with the loss's gradient with respect to the representations given by <paramref name="gradient"/>
    /// (the loss value and d loss / d representations, for representations without a graph): the form distributed
    /// training uses, where that gradient comes from the global batch (<see cref="GlobalBatch"/>).
    /// </summary>
    public static double Backward(Func<Tensor, Tensor> encode, Tensor input, int chunk, Func<Tensor, (double Loss, Tensor Gradient)> gradient)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunk, 1);
        long n = input.shape[0];
        using var scope = NewDisposeScope();
        // Pass 1: representations without the graph. The RNG state is replayed in pass 3 so stochastic layers match.
        var rng = torch.get_rng_state();
        var parts = new List<Tensor>();
        using (no_grad())
            for (long s = 0; s < n; s += chunk) parts.Add(encode(input.narrow(0, s, Math.Min(chunk, n - s))));
        var reps = cat(parts, 0).detach();

        // Pass 2: the loss over all of them, and its gradient with respect to each representation.
        var (value, cached) = gradient(reps);

        // Pass 3: each chunk again with the graph, back-propagating its slice of the cached gradient.
        torch.set_rng_state(rng);
        for (long s = 0; s < n; s += chunk)
        {
            using var step = NewDisposeScope();
            long len = Math.Min(chunk, n - s);
            var z = encode(input.narrow(0, s, len));
            z.backward([cached.narrow(0, s, len)]);
        }
        return value;
    }
}
