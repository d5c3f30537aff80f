using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>Turns a batch's caption tokens (<see cref="Batch.Tokens"/>) into tensors for a text tower.</summary>
public static class TextInput
{
    /// <summary>The batch's token rows [Count, Context] (int32) and lengths [Count] (int64) on <paramref name="device"/>.</summary>
    /// <exception cref="ArgumentException">The batch carries no caption tokens.</exception>
    public static (Tensor Tokens, Tensor Lengths) ToTensors(Batch batch, Device device)
    {
        if (batch.Tokens is not { } ids || batch.TokenLengths is not { } lengths)
            throw new ArgumentException("the batch carries no caption tokens: the input pipeline needs the method's caption encoder (PipelineSettings.Captions) and data read with captions");
        using var scope = NewDisposeScope();
        int n = batch.Count, context = batch.Context;
        var t = tensor(ids.AsSpan(0, n * context).ToArray(), [n, context]).to(device);
        var l = tensor(lengths.AsSpan(0, n).ToArray().Select(x => (long)x).ToArray(), ScalarType.Int64).to(device);
        return (t.MoveToOuterDisposeScope(), l.MoveToOuterDisposeScope());
    }
}
