using System.Text.Json.Nodes;
using Contrastive.Augment;
using Contrastive.Ingest;
using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// What every method shares: the optimizer and its learning-rate schedule, gradient clipping, precision, gradient caching
/// and checkpoints. <see cref="TrainStep"/> is one optimizer step on one batch, inside its own dispose scope so native
/// memory stays flat; the method (<see cref="IContrastiveMethod"/>) supplies the loss and its after-step update.
/// </summary>
public sealed partial class ContrastiveTrainer : IDisposable
{
    private readonly TrainingOptions _o;
    private readonly StepOptimizer _optimizer;
    private readonly LrSchedule _schedule;
    private readonly double _clip;
    private readonly ScalarType? _compute;
    private readonly IRepresentationLoss? _cached; // gradient caching, when on
    private readonly DataParallel _parallel;

    /// <param name="registration">The method (from the <see cref="MethodRegistry"/>).</param>
    /// <param name="context">What the method is built from; <see cref="MethodContext.Options"/> are the method's options.</param>
    /// <param name="batchSize">Samples per batch, for the learning rate's batch scaling (<see cref="TrainingOptions.EffectiveLearningRate"/>).</param>
    /// <exception cref="ArgumentException">A setting the method cannot honour (gradient caching where it is not exact, a window too short for CPC).</exception>
    public ContrastiveTrainer(MethodRegistration registration, MethodContext context, int batchSize)
    {
        _o = context.Training;
        Registration = registration;
        Context = context;
        if (_o.GradCacheChunk > 0 && !registration.SupportsGradCache)
            throw new ArgumentException(
                $"Training:GradCacheChunk (--grad-cache-chunk {_o.GradCacheChunk}) gives the full batch's gradient only for methods whose loss couples the batch's " +
                $"representations ({string.Join(", ", MethodRegistry.All.Where(m => m.SupportsGradCache).Select(m => m.Name))}); " +
                $"{registration.Name} is not one of them. Set it to 0, or lower --batch-size to fit memory.");
        Method = registration.Create(context);
        if (_o.GradCacheChunk > 0)
            _cached = Method as IRepresentationLoss ?? throw new ArgumentException($"{registration.Name} says it supports gradient caching but is no IRepresentationLoss.");
        Group = context.Group;
        // The learning rate follows the global batch: every rank's samples count.
        Recipe = (context.Options as IOptimizerRecipes)?.RecipeFor(_o.Optimizer);
        LearningRate = _o.EffectiveLearningRate(batchSize * Group.WorldSize, Recipe);
        WeightDecay = _o.EffectiveWeightDecay(Recipe);
        GlobalBatchSize = batchSize * Group.WorldSize;
        _optimizer = StepOptimizer.Create(_o.Optimizer, Method.Parameters, LearningRate, WeightDecay);
        _clip = _o.ClipGradNorm > 0 ? _o.ClipGradNorm : Method.DefaultClipGradNorm;
        _schedule = new LrSchedule(LearningRate, _o.WarmupFraction);
        Precision = _o.ChoosePrecision(context.Device, imageEncoder: registration.Data == MethodData.Images);
        _compute = Precision.Compute;
        NcclCommunicator? nccl = null;
        if (Group.WorldSize > 1)
        {
            nccl = NcclCommunicator.TryCreate(Group, context.Device, out string transport);
            TransportNote = transport;
        }
        _parallel = new DataParallel(Group, Method.Parameters, nccl);
        SyncFromRankZero();
        if (context.Device.type == DeviceType.CUDA)
        {
            backends.cuda.matmul.allow_tf32 = _o.AllowTf32;
            backends.cudnn.allow_tf32 = _o.AllowTf32;
        }
    }

    public MethodRegistration Registration { get; }

    /// <summary>The processes training together (<see cref="MethodContext.Group"/>).</summary>
    public IProcessGroup Group { get; }

    /// <summary>Samples per step over all ranks.</summary>
    public int GlobalBatchSize { get; }

    /// <summary>How gradients travel between ranks, in words (null with one process).</summary>
    public string? TransportNote { get; }

    /// <summary>Seconds spent in gradient all-reduces so far (the communication share of a step).</summary>
    public double CommunicationSeconds { get; private set; }

    public MethodContext Context { get; }

    public IContrastiveMethod Method { get; }

    public TrainingOptions Options => _o;

    /// <summary>"bf16" or "fp32": what the encoder and heads compute in (parameters, optimizer and losses are fp32 either way).</summary>
    public string PrecisionName => Precision.Name;

    /// <summary>The precision in effect and why (<see cref="TrainingOptions.ChoosePrecision"/>), as the training log prints it.</summary>
    public PrecisionChoice Precision { get; }

    /// <summary>The peak learning rate in effect (after batch scaling).</summary>
    public double LearningRate { get; }

    /// <summary>The weight decay in effect.</summary>
    public double WeightDecay { get; }

    /// <summary>The method's paper settings for the optimizer, where it has them (they fill the settings not given).</summary>
    public OptimizerRecipe? Recipe { get; }

    /// <summary>The gradient-norm clip in effect (0: none).</summary>
    public double ClipGradNorm => _clip;

    /// <summary>Optimizer steps taken, counting those before a resume.</summary>
    public long Step { get; private set; }

    /// <summary>Samples trained on, counting those before a resume.</summary>
    public long Samples { get; private set; }

    public double LastLearningRate { get; private set; }

    /// <summary>
    /// Where <see cref="TrainStep"/> records its forward, backward and optimizer spans (lane <see cref="TraceRecorder.TrainerLane"/>);
    /// null: no trace. Other steps of a step (a gradient all-reduce, say) add theirs with <c>Trace.Span(TraceRecorder.TrainerLane, "allreduce")</c>.
    /// </summary>
    public TraceRecorder? Trace { get; set; }

    /// <summary>One optimizer step on a batch; returns the loss. <paramref name="progress"/> ∈ [0, 1] drives the schedule.</summary>
    public double TrainStep(Batch batch, double progress)
    {
        // libtorch's CPU thread count is per OS thread (OpenMP), and each step may run on another thread-pool thread.
        if (_o.Threads > 0 && torch.get_num_threads() != _o.Threads) torch.set_num_threads(_o.Threads);
        using var scope = NewDisposeScope();
        using var mixed = Autocast.Enter(_compute);
        using var syncNorm = _o.SyncBatchNorm ? Contrastive.Training.SyncBatchNorm.Enter(Group) : null;
        Method.Model.train();
        LastLearningRate = _schedule.At(progress);
        _optimizer.SetLearningRate(LastLearningRate);
        _optimizer.ZeroGrad();
        double value;
        if (Group.WorldSize > 1 && Method is IGlobalNegatives global)
        {
            using (Trace.Span(TraceRecorder.TrainerLane, "forward + backward (global negatives)"))
                value = GlobalStep(global, batch);
        }
        else if (Group.WorldSize > 1 && Method is IGlobalBatchLoss rowsLoss)
        {
            using (Trace.Span(TraceRecorder.TrainerLane, "forward + backward (global batch)"))
            {
                var z = rowsLoss.EncodeRows(batch);
                var (loss, grad) = GlobalBatch.Gradient(Group, z.detach(), (all, first) => rowsLoss.GlobalShare(all, first, z.shape[0], Group.WorldSize));
                z.backward([grad]);
                value = loss;
            }
        }
        else
        {
            Tensor? rows = _cached?.Inputs(batch);
            if (_cached is not null && rows!.shape[0] > _o.GradCacheChunk)
            {
                using (Trace.Span(TraceRecorder.TrainerLane, "forward + backward (gradient cache)"))
                    value = GradCache.Backward(_cached.Encode, rows, _o.GradCacheChunk, z => _cached.LossOn(z, batch));
            }
            else
            {
                Tensor loss;
                using (Trace.Span(TraceRecorder.TrainerLane, "forward (loss)"))
                    loss = _cached is not null ? _cached.LossOn(_cached.Encode(rows!), batch) : Method.Loss(batch, progress);
                using (Trace.Span(TraceRecorder.TrainerLane, "backward"))
                {
                    loss.backward();
                    value = loss.item<float>();
                }
            }
        }
        if (Group.WorldSize > 1)
        {
            long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            using (Trace.Span(TraceRecorder.TrainerLane, "gradient all-reduce"))
                value = _parallel.AverageGradients(value);
            CommunicationSeconds += System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }
        using (Trace.Span(TraceRecorder.TrainerLane, "optimizer step"))
        {
            if (_clip > 0) nn.utils.clip_grad_norm_(Method.Parameters, _clip);
            _optimizer.Step();
            Method.AfterStep(progress);
        }
        Step++;
        Samples += batch.Count;
        if (double.IsNaN(value) || double.IsInfinity(value))
            throw new InvalidOperationException($"The loss became {value} at step {Step}; lower the learning rate (now {LastLearningRate:g4}) or check the data.");
        return value;
    }

    /// <summary>
    /// One rank's part of a step whose negatives are the global batch: this rank's rows are encoded (in chunks with
    /// gradient caching), every rank's representations gathered, this rank's anchors' loss back-propagated to them, that
    /// gradient summed over ranks and this rank's slice back-propagated through its encoder pass.
    /// </summary>
    private double GlobalStep(IGlobalNegatives method, Batch batch)
    {
        var rows = method.Inputs(batch);
        var keys = GlobalBatch.GlobalKeys(Group, method.RowKeys(batch), rows.device);
        (double, Tensor) Gradient(Tensor reps) => GlobalBatch.Gradient(Group, reps,
            (all, first) => GlobalContrastLoss.Compute(all, keys, first, reps.shape[0], method.Temperature, Group.WorldSize));
        if (_o.GradCacheChunk > 0 && rows.shape[0] > _o.GradCacheChunk)
            return GradCache.Backward(method.Encode, rows, _o.GradCacheChunk, Gradient);
        var z = method.Encode(rows);
        var (value, grad) = Gradient(z.detach());
        z.backward([grad]);
        return value;
    }

    /// <summary>
    /// Makes every rank's model, trainable parameters and method state (targets, queues, centres) rank 0's: at the start
    /// and after a resume, so all ranks step from the same weights.
    /// </summary>
    public void SyncFromRankZero()
    {
        if (Group.WorldSize == 1) return;
        _parallel.Broadcast(Method.Model);
        var state = Group.BroadcastBytes(Group.Rank == 0 ? Method.SaveState() : null);
        if (Group.Rank != 0 && state.Length > 0) Method.LoadState(state);
    }

    /// <summary>A hash of the trained parameters' values (SHA-256 of their bytes in order, 16 hex digits): equal on every rank of a data-parallel run.</summary>
    public string ParameterChecksum()
    {
        using var scope = NewDisposeScope();
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (var p in Method.Parameters)
        {
            var values = p.detach().cpu().contiguous();
            hash.AppendData(values.bytes);
        }
        return Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant()[..16];
    }

    public void Dispose()
    {
        _parallel.Dispose();
        _optimizer.Dispose();
        Method.Dispose();
    }
}
