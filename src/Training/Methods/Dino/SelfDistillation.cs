using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// DINO (Caron et al. 2021): a student (the run's encoder and a <see cref="DinoHead"/>) matches, on every view, the
/// output distribution of a teacher on the global views; the teacher is an exponential moving average of the student with
/// momentum rising on a cosine from <see cref="BaseMomentum"/> to 1, and its outputs are centred (a running mean,
/// momentum <see cref="CenterMomentum"/>) and sharpened (temperature <see cref="TeacherTemperature"/>) so that neither
/// collapse wins. Views 0 and 1 of a batch are the global ones; views 2 and up, smaller, the local ones.
/// </summary>
internal sealed class SelfDistillation : IDisposable
{
    private readonly Encoder _teacherEncoder;
    private readonly Tensor _center;

    public SelfDistillation(ProjectedEncoder student, Func<ProjectedEncoder> create, int hidden, int bottleneck, int outputDim, double baseMomentum,
        double studentTemperature, double teacherTemperature, double centerMomentum, Device device)
    {
        if (baseMomentum is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(baseMomentum), "the teacher momentum must be in [0, 1]");
        BaseMomentum = baseMomentum;
        StudentTemperature = studentTemperature;
        TeacherTemperature = teacherTemperature;
        CenterMomentum = centerMomentum;
        StudentHead = new DinoHead(student.Encoder.FeatureDim, hidden, bottleneck, outputDim);
        StudentHead.to(device);
        TeacherModel = create();
        ModuleState.Copy(student, TeacherModel);
        TeacherModel.to(device);
        _teacherEncoder = TeacherModel.Encoder;
        TeacherHead = new DinoHead(student.Encoder.FeatureDim, hidden, bottleneck, outputDim);
        ModuleState.Copy(StudentHead, TeacherHead);
        TeacherHead.to(device);
        foreach (var p in TeacherModel.parameters().Concat(TeacherHead.parameters())) p.requires_grad = false;
        _center = zeros(1, outputDim, device: device);
    }

    public double BaseMomentum { get; }

    /// <summary>The processes training together: the centre is the global batch's (default one process).</summary>
    public IProcessGroup Group { get; init; } = SingleProcessGroup.Instance;

    public double StudentTemperature { get; }

    public double TeacherTemperature { get; }

    public double CenterMomentum { get; }

    public DinoHead StudentHead { get; }

    public DinoHead TeacherHead { get; }

    /// <summary>The teacher's copy of the run's model (its encoder is used; its projection head is not).</summary>
    public ProjectedEncoder TeacherModel { get; }

    /// <summary>The running centre of the teacher's outputs, [1, K].</summary>
    public Tensor Center => _center;

    /// <summary>The teacher momentum at training progress <paramref name="progress"/> ∈ [0, 1].</summary>
    public double Momentum(double progress) => MovingAverage.CosineRate(BaseMomentum, progress);

    /// <summary>
    /// The loss for <paramref name="n"/> samples: <paramref name="global"/> [2n, 3, S, S] (views 0, 1) and
    /// <paramref name="local"/> [L·n, 3, s, s] or null; updates the centre with this batch's teacher outputs.
    /// </summary>
    public Tensor Loss(Encoder student, Tensor global, Tensor? local, int n)
    {
        using var scope = NewDisposeScope();
        var s = StudentHead.forward(student.forward(global));
        if (local is not null) s = cat([s, StudentHead.forward(student.forward(local))], 0);
        Tensor t;
        using (no_grad())
        {
            _teacherEncoder.train();
            t = TeacherHead.forward(_teacherEncoder.forward(global));
        }
        var loss = DinoLoss.Compute(s, t, _center, n, StudentTemperature, TeacherTemperature);
        DinoLoss.UpdateCenter(_center, t, CenterMomentum, Group);
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>After the optimizer step: θ_teacher ← m·θ_teacher + (1 − m)·θ_student, for the encoder and the head.</summary>
    public void UpdateTeacher(Encoder student, double progress)
    {
        double m = Momentum(progress);
        MovingAverage.Update(_teacherEncoder.parameters(), student.parameters(), m);
        MovingAverage.Update(TeacherHead.parameters(), StudentHead.parameters(), m);
    }

    public byte[] SaveState() => StateParts.Write(w =>
    {
        StateParts.WriteModule(w, StudentHead);
        StateParts.WriteModule(w, TeacherModel);
        StateParts.WriteModule(w, TeacherHead);
        StateParts.WriteValues(w, _center);
    });

    public void LoadState(byte[] state)
    {
        using var ms = new MemoryStream(state);
        using var r = new BinaryReader(ms);
        StateParts.ReadModule(r, StudentHead);
        StateParts.ReadModule(r, TeacherModel);
        StateParts.ReadModule(r, TeacherHead);
        StateParts.ReadValuesInto(r, _center, k => $"the checkpoint's DINO centre has {k} outputs, this run's head {_center.shape[1]}");
    }

    public void Dispose()
    {
        StudentHead.Dispose();
        TeacherHead.Dispose();
        TeacherModel.Dispose();
        _center.Dispose();
    }
}
