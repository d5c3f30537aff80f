using Contrastive.Augment;
using TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// CPC on time series: a strided 1-D convolutional encoder, a GRU context network and InfoNCE over the steps ahead.
/// A batch holds one float window [C, L] per sample.
/// </summary>
public sealed class CpcMethod : IContrastiveMethod
{
    private readonly Device _device;
    private readonly Generator _negatives;
    private double[] _accuracy = [];

    public CpcMethod(MethodContext context, CpcOptions options)
    {
        if (context.Channels < 1) throw new ArgumentException("CPC needs the series' channel count (MethodContext.Channels).");
        var model = options.ToModelOptions(context.Channels);
        int length = context.ImageSize;
        if (length % model.Downsampling != 0)
            throw new ArgumentException($"The window length {length} is not a multiple of the encoder's downsampling {model.Downsampling}.");
        if (length / model.Downsampling <= 1)
            throw new ArgumentException($"A window of {length} steps encodes to {length / model.Downsampling} step(s): too short to predict ahead; use at least {2 * model.Downsampling}.");
        _device = context.Device;
        WindowLength = length;
        manual_seed(context.Training.Seed);
        Network = new CpcModel(model);
        Network.to(context.Device);
        _negatives = new Generator((ulong)context.Training.Seed + 1, context.Device);
        Parameters = Network.parameters().ToArray();
    }

    public CpcModel Network { get; }

    public int WindowLength { get; }

    public nn.Module Model => Network;

    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>Prediction accuracy per step ahead (index k − 1) on the last batch.</summary>
    public IReadOnlyList<double> LastAccuracy => _accuracy;

    public IReadOnlyList<(string Name, double Value)> LastMetrics => [.. _accuracy.Select((a, i) => ($"cpc/accuracy_k{i + 1}", a))];

    /// <summary>The batch's windows as a float tensor [Count, C, L] on the device, without a copy on the CPU.</summary>
    public static Tensor Input(Batch batch, int channels, int length, Device device)
    {
        using var scope = NewDisposeScope();
        var values = batch.Values ?? throw new ArgumentException("CPC needs a batch of float windows (a series pipeline), not image bytes.");
        var x = frombuffer(values, ScalarType.Float32, count: (long)batch.Capacity * channels * length, offset: 0)
            .view(batch.Capacity, channels, length).narrow(0, 0, batch.Count);
        return (device.type == DeviceType.CUDA ? x.contiguous().pin_memory().to(device, non_blocking: true) : x).MoveToOuterDisposeScope();
    }

    public Tensor Loss(Batch batch, double progress)
    {
        if (batch.Views != 1) throw new ArgumentException($"CPC takes one window per sample, the batch has {batch.Views} views.");
        if (batch.Count < 2 && !Network.Options.SameSequenceNegatives) throw new ArgumentException("CPC needs at least 2 sequences per batch.");
        var (z, c) = Network.forward(Input(batch, Network.Options.InputChannels, WindowLength, _device));
        var loss = CpcLoss.Compute(Network, z, c, _negatives, out var accuracy);
        _accuracy = accuracy;
        return loss;
    }

    /// <summary>Mean-pooled contexts of the batch's windows, [Count, ContextDim], on the CPU.</summary>
    public Tensor Embed(Batch batch)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        Network.eval();
        return Network.Features(Input(batch, Network.Options.InputChannels, WindowLength, _device)).cpu().MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        Network.Dispose();
        _negatives.Dispose();
    }
}
