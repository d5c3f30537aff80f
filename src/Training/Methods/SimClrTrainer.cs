using Contrastive.Batching;
using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// SimCLR training state: the model, its optimizer and the schedule position. One <see cref="Step"/> call is
/// one optimizer step on one two-view batch, inside its own dispose scope so native memory stays flat.
/// </summary>
public sealed class SimClrTrainer : IDisposable
{
    private readonly TrainingOptions _o;
    private readonly StepOptimizer _optimizer;
    private readonly NtXentLoss _loss;
    private readonly SupConLoss? _supcon;
    private readonly LrSchedule _schedule;
    private readonly TorchSharp.Modules.Parameter[] _parameters;
    private readonly double _clip;
    private readonly MomentumContrast? _moco;
    private readonly Bootstrap? _byol;
    private readonly SelfDistillation? _dino;
    private readonly ScalarType? _compute;

    /// <param name="batchSize">Samples per batch, for the learning rate's batch scaling (<see cref="TrainingOptions.EffectiveLearningRate"/>).</param>
    public SimClrTrainer(TrainingOptions options, int imageSize, Device device, int batchSize = 256)
    {
        _o = options;
        Device = device;
        ImageSize = imageSize;
        Model = CreateModel(options, device);
        SimClrModel NewModel() => new(options.Encoder, options.SmallImages, ProjectionHidden(options.Encoder), options.ProjectionDim);
        if (options.Method == "byol")
            _byol = new Bootstrap(Model, NewModel, options.ProjectionDim, ProjectionHidden(options.Encoder), options.ByolTau, device);
        if (options.Method == "dino")
            _dino = new SelfDistillation(Model, NewModel, DinoHidden(options), options.DinoBottleneck, options.DinoOutDim, options.DinoTeacherMomentum,
                options.DinoStudentTemperature, options.DinoTeacherTemperature, options.DinoCenterMomentum, device);
        // DINO trains the encoder and its own head (the projection head is not used); BYOL adds its predictor.
        var trained = _dino is not null ? Model.Encoder.parameters().Concat(_dino.StudentHead.parameters())
            : _byol is not null ? Model.parameters().Concat(_byol.Predictor.parameters())
            : Model.parameters();
        _parameters = trained.ToArray();
        LearningRate = options.EffectiveLearningRate(batchSize);
        _optimizer = StepOptimizer.Create(options.Optimizer, _parameters, LearningRate, options.WeightDecay);
        _clip = options.ClipGradNorm > 0 ? options.ClipGradNorm : _dino is not null ? 3.0 : 0;
        _loss = new NtXentLoss(options.Temperature);
        if (options.Method == "supcon") _supcon = new SupConLoss(options.SupConTemperature);
        if (options.Method == "moco")
            _moco = new MomentumContrast(Model, NewModel,
                options.MocoQueue, options.MocoMomentum, options.MocoTemperature, options.ProjectionDim, options.Seed, device);
        _schedule = new LrSchedule(LearningRate, options.WarmupFraction);
        _compute = options.ComputeType(device);
        if (device.type == DeviceType.CUDA)
        {
            backends.cuda.matmul.allow_tf32 = options.AllowTf32;
            backends.cudnn.allow_tf32 = options.AllowTf32;
        }
    }

    /// <summary>"bf16" or "fp32": what the encoder and heads compute in (parameters, optimizer and losses are fp32 either way).</summary>
    public string PrecisionName => _compute is null ? "fp32" : "bf16";

    public SimClrModel Model { get; }

    /// <summary>The peak learning rate in effect (after batch scaling).</summary>
    public double LearningRate { get; }

    public Device Device { get; }

    public int ImageSize { get; }

    /// <summary>Optimizer steps taken, counting those before a resume.</summary>
    public long Step { get; private set; }

    /// <summary>Samples (pairs) trained on, counting those before a resume.</summary>
    public long Samples { get; private set; }

    public double LastLearningRate { get; private set; }

    /// <summary>Hidden width of the projection head: the encoder's feature size, as in SimCLR.</summary>
    public static int ProjectionHidden(string encoder) => encoder switch { "resnet18" or "resnet34" => 512, "resnet50" => 2048, _ => 256 };

    /// <summary>DINO's head width: as configured, else 2048 for ResNets and 512 for the small ConvNet.</summary>
    public static int DinoHidden(TrainingOptions o) => o.DinoHidden > 0 ? o.DinoHidden : o.Encoder.StartsWith("resnet", StringComparison.Ordinal) ? 2048 : 512;

    /// <summary>A fresh model with the run seed's initialisation (the same weights a run starts from).</summary>
    public static SimClrModel CreateModel(TrainingOptions o, Device device)
    {
        torch.manual_seed(o.Seed);
        var model = new SimClrModel(o.Encoder, o.SmallImages, ProjectionHidden(o.Encoder), o.ProjectionDim);
        model.to(device);
        return model;
    }

    /// <summary>One optimizer step on a batch of two views; returns the loss.</summary>
    /// <param name="progress">Training progress in [0, 1] for the learning-rate schedule.</param>
    public double TrainStep(Batch batch, double progress)
    {
        if (_dino is not null ? batch.Views < 2 : batch.Views != 2)
            throw new ArgumentException($"--method {_o.Method} needs {(_dino is not null ? "at least " : "")}2 views per sample, the batch has {batch.Views}.");
        if (batch.Count < 2) throw new ArgumentException($"--method {_o.Method} needs at least 2 samples per batch.");
        // libtorch's CPU thread count is per OS thread (OpenMP), and each step may run on another thread-pool thread.
        if (_o.Threads > 0 && torch.get_num_threads() != _o.Threads) torch.set_num_threads(_o.Threads);
        using var scope = NewDisposeScope();
        using var mixed = Autocast.Enter(_compute);
        Model.train();
        LastLearningRate = _schedule.At(progress);
        _optimizer.SetLearningRate(LastLearningRate);

        var x = ImageInput.ToTensor(batch, Device, 0, 2);
        int n = batch.Count;
        double value;
        _optimizer.ZeroGrad();
        Tensor? keys = null;
        if (_supcon is not null)
        {
            // Supervised contrastive: the positives of an anchor are every other view of its class (both views of
            // every sample share the sample's label). A sample without a label is a class of its own (its own index).
            var labels = new long[2 * n];
            for (int i = 0; i < n; i++)
                labels[i] = labels[n + i] = batch.Labels[i] >= 0 ? batch.Labels[i] : -1 - batch.Indices[i];
            var loss = _supcon.Compute(Model.forward(x), tensor(labels, device: Device));
            loss.backward();
            value = loss.item<float>();
        }
        else if (_dino is not null)
        {
            var local = batch.Views > 2 ? ImageInput.ToTensor(batch, Device, 2, batch.Views - 2) : null;
            var loss = _dino.Loss(Model.Encoder, x, local, n);
            loss.backward();
            value = loss.item<float>();
        }
        else if (_byol is not null)
        {
            var loss = _byol.Loss(Model, x, n);
            loss.backward();
            value = loss.item<float>();
        }
        else if (_moco is not null)
        {
            var loss = _moco.Loss(Model, x, n, out keys);
            loss.backward();
            value = loss.item<float>();
        }
        else if (_o.GradCacheChunk > 0 && x.shape[0] > _o.GradCacheChunk)
        {
            value = GradCache.Backward(Model.forward, x, _o.GradCacheChunk, z => _loss.Compute(z.narrow(0, 0, n), z.narrow(0, n, n)));
        }
        else
        {
            var z = Model.forward(x);
            var loss = _loss.Compute(z.narrow(0, 0, n), z.narrow(0, n, n));
            loss.backward();
            value = loss.item<float>();
        }
        if (_clip > 0) nn.utils.clip_grad_norm_(_parameters, _clip);
        _optimizer.Step();
        if (_moco is not null)
        {
            _moco.UpdateKey(Model);
            _moco.Enqueue(keys!);
        }
        _byol?.UpdateTarget(Model, progress);
        _dino?.UpdateTeacher(Model.Encoder, progress);
        Step++;
        Samples += batch.Count;
        if (double.IsNaN(value) || double.IsInfinity(value))
            throw new InvalidOperationException($"The loss became {value} at step {Step}; lower the learning rate (now {LastLearningRate:g4}) or check the data.");
        return value;
    }

    /// <summary>Writes a checkpoint of model, optimizer and position.</summary>
    public string SaveCheckpoint(CheckpointStore store, int epoch, double seconds, Contrastive.Ingest.ReadCursor? cursor = null)
    {
        var info = new CheckpointInfo
        {
            Method = _o.Method, Encoder = _o.Encoder, SmallImages = _o.SmallImages, ImageSize = ImageSize,
            ProjectionDim = _o.ProjectionDim, ProjectionHidden = ProjectionHidden(_o.Encoder),
            Step = Step, Samples = Samples, Epoch = cursor?.Epoch ?? epoch, Cursor = cursor, Seconds = seconds, Seed = _o.Seed,
        };
        return store.Write(info, SaveModel(Model), OptimizerState());
    }

    /// <summary>Restores model, optimizer and position from a checkpoint of the same configuration.</summary>
    public void Restore(CheckpointData data)
    {
        if (data.Info.Method != _o.Method)
            throw new InvalidDataException($"Checkpoint '{data.Path}' was made by --method {data.Info.Method}; this run is {_o.Method}. Use a new --out or the same method.");
        if (data.Info.Encoder != _o.Encoder || data.Info.ImageSize != ImageSize || data.Info.ProjectionDim != _o.ProjectionDim)
            throw new InvalidDataException(
                $"Checkpoint '{data.Path}' was made with encoder {data.Info.Encoder}, image size {data.Info.ImageSize}, projection {data.Info.ProjectionDim}; " +
                $"this run uses {_o.Encoder}, {ImageSize}, {_o.ProjectionDim}. Use a new --out or the same settings.");
        LoadModel(Model, data.Model);
        if (_moco is null && _byol is null && _dino is null) _optimizer.LoadState(data.Optimizer);
        else
        {
            // MoCo, BYOL, DINO: the optimizer's state, then the method's own (key network and queue; predictor and target; heads, teacher, centre).
            using var ms = new MemoryStream(data.Optimizer);
            using var r = new BinaryReader(ms);
            _optimizer.LoadState(StateParts.ReadPart(r));
            var own = StateParts.ReadPart(r);
            if (_moco is not null) _moco.LoadState(own);
            else if (_byol is not null) _byol.LoadState(own);
            else _dino!.LoadState(own);
        }
        Step = data.Info.Step;
        Samples = data.Info.Samples;
    }

    public static byte[] SaveModel(nn.Module model)
    {
        using var ms = new MemoryStream();
        using (var writer = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true)) model.save(writer);
        return ms.ToArray();
    }

    public static void LoadModel(nn.Module model, byte[] state)
    {
        using var ms = new MemoryStream(state);
        using var reader = new BinaryReader(ms);
        model.load(reader);
    }

    private byte[] OptimizerState()
    {
        var state = _optimizer.SaveState();
        if (_moco is null && _byol is null && _dino is null) return state;
        var own = _moco?.SaveState() ?? _byol?.SaveState() ?? _dino!.SaveState();
        return StateParts.Write(w =>
        {
            StateParts.WritePart(w, state);
            StateParts.WritePart(w, own);
        });
    }

    public void Dispose()
    {
        _moco?.Dispose();
        _byol?.Dispose();
        _dino?.Dispose();
        _optimizer.Dispose();
        Model.Dispose();
    }
}
