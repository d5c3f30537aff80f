using Contrastive.Batching;
using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// CPC training state: model, Adam(W) optimizer and schedule position. A step takes a batch of float32 windows
/// [B, C, L] (one view per sample), encodes, runs the context network and minimises InfoNCE over the steps ahead.
/// </summary>
public sealed class CpcTrainer : IDisposable
{
    private readonly TrainingOptions _o;
    private readonly StepOptimizer _optimizer;
    private readonly LrSchedule _schedule;
    private readonly Generator _negatives;

    public CpcTrainer(TrainingOptions options, CpcOptions model, int windowLength, Device device)
    {
        if (windowLength % model.Downsampling != 0)
            throw new ArgumentException($"The window length {windowLength} is not a multiple of the encoder's downsampling {model.Downsampling}.");
        if (windowLength / model.Downsampling <= 1)
            throw new ArgumentException($"A window of {windowLength} steps encodes to {windowLength / model.Downsampling} step(s): too short to predict ahead; use at least {2 * model.Downsampling}.");
        _o = options;
        Device = device;
        WindowLength = windowLength;
        Model = CreateModel(options.Seed, model, device);
        _optimizer = StepOptimizer.Create(options.Optimizer, Model, options.EffectiveLearningRate(256), options.WeightDecay);
        _schedule = new LrSchedule(options.EffectiveLearningRate(256), options.WarmupFraction);
        _negatives = new Generator((ulong)options.Seed + 1, device);
    }

    public CpcModel Model { get; }

    public Device Device { get; }

    public int WindowLength { get; }

    public long Step { get; private set; }

    public long Samples { get; private set; }

    public double LastLearningRate { get; private set; }

    /// <summary>Prediction accuracy per step ahead (index k − 1) on the last batch.</summary>
    public double[] LastAccuracy { get; private set; } = [];

    /// <summary>A fresh model with the run seed's initialisation.</summary>
    public static CpcModel CreateModel(long seed, CpcOptions options, Device device)
    {
        torch.manual_seed(seed);
        var model = new CpcModel(options);
        model.to(device);
        return model;
    }

    /// <summary>The batch's windows as a float tensor [Count, C, L] on the device, without a copy on the CPU.</summary>
    public static Tensor Input(Batch batch, int channels, int length, Device device)
    {
        using var scope = NewDisposeScope();
        var values = batch.Values ?? throw new ArgumentException("CPC needs a batch of float windows (a series pipeline), not image bytes.");
        var x = frombuffer(values, ScalarType.Float32, count: (long)batch.Capacity * channels * length, offset: 0)
            .view(batch.Capacity, channels, length).narrow(0, 0, batch.Count);
        return (device.type == DeviceType.CUDA ? x.contiguous().pin_memory().to(device, non_blocking: true) : x).MoveToOuterDisposeScope();
    }

    public double TrainStep(Batch batch, double progress)
    {
        if (batch.Views != 1) throw new ArgumentException($"CPC takes one window per sample, the batch has {batch.Views} views.");
        if (batch.Count < 2 && !Model.Options.SameSequenceNegatives) throw new ArgumentException("CPC needs at least 2 sequences per batch.");
        if (_o.Threads > 0 && torch.get_num_threads() != _o.Threads) torch.set_num_threads(_o.Threads);
        using var scope = NewDisposeScope();
        Model.train();
        LastLearningRate = _schedule.At(progress);
        _optimizer.SetLearningRate(LastLearningRate);
        var x = Input(batch, Model.Options.InputChannels, WindowLength, Device);
        var (z, c) = Model.forward(x);
        var loss = CpcLoss.Compute(Model, z, c, _negatives, out var accuracy);
        _optimizer.ZeroGrad();
        loss.backward();
        _optimizer.Step();
        Step++;
        Samples += batch.Count;
        LastAccuracy = accuracy;
        double value = loss.item<float>();
        if (double.IsNaN(value) || double.IsInfinity(value))
            throw new InvalidOperationException($"The loss became {value} at step {Step}; lower the learning rate (now {LastLearningRate:g4}) or check the data.");
        return value;
    }

    public string SaveCheckpoint(CheckpointStore store, double seconds, Contrastive.Ingest.ReadCursor? cursor)
    {
        var o = Model.Options;
        var info = new CheckpointInfo
        {
            Method = "cpc", Encoder = $"cpc-{o.InputChannels}x{o.EncoderChannels}-gru{o.ContextDim}-k{o.PredictionSteps}", ImageSize = WindowLength,
            Step = Step, Samples = Samples, Epoch = cursor?.Epoch ?? 0, Cursor = cursor, Seconds = seconds, Seed = _o.Seed,
        };
        return store.Write(info, SimClrTrainer.SaveModel(Model), _optimizer.SaveState());
    }

    public void Restore(CheckpointData data)
    {
        var o = Model.Options;
        string expected = $"cpc-{o.InputChannels}x{o.EncoderChannels}-gru{o.ContextDim}-k{o.PredictionSteps}";
        if (data.Info.Method != "cpc" || data.Info.Encoder != expected || data.Info.ImageSize != WindowLength)
            throw new InvalidDataException($"Checkpoint '{data.Path}' was made by {data.Info.Method} with model {data.Info.Encoder}, window {data.Info.ImageSize}; " +
                $"this run uses cpc with {expected}, window {WindowLength}. Use a new --out or the same settings.");
        SimClrTrainer.LoadModel(Model, data.Model);
        _optimizer.LoadState(data.Optimizer);
        Step = data.Info.Step;
        Samples = data.Info.Samples;
    }

    public void Dispose()
    {
        _optimizer.Dispose();
        Model.Dispose();
        _negatives.Dispose();
    }
}
