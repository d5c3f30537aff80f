using Contrastive.Augment;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// DINO: the student (the run's encoder and a DINO head) matches a centred, sharpened moving-average teacher on two global
/// and several local views (<see cref="SelfDistillation"/>). The checkpoint's model is the encoder with a projection head
/// (unused by the loss), so evaluation loads it like the other image methods'.
/// </summary>
public sealed class DinoMethod : ImageMethod
{
    private const int UnusedProjection = 128; // the checkpoint layout of the other image methods

    public DinoMethod(MethodContext context, DinoOptions options) : base(context, UnusedProjection)
    {
        Distillation = new SelfDistillation(Network, ImageModels.Factory(context, UnusedProjection), options.HiddenFor(context.Training.Encoder),
            options.Bottleneck, options.OutDim, options.TeacherMomentum, options.StudentTemperature, options.TeacherTemperature, options.CenterMomentum,
            context.Device) { Group = context.Group };
        Parameters = Network.Encoder.parameters().Concat(Distillation.StudentHead.parameters()).ToArray();
        DefaultClipGradNorm = options.ClipGradNorm;
    }

    /// <summary>The student head, the teacher and the centre.</summary>
    internal SelfDistillation Distillation { get; }

    public override IReadOnlyList<Parameter> Parameters { get; }

    public override double DefaultClipGradNorm { get; }

    public override Tensor Loss(Batch batch, double progress)
    {
        if (batch.Views < 2) throw new ArgumentException($"--method dino needs at least 2 views per sample, the batch has {batch.Views}.");
        if (batch.Count < 2) throw new ArgumentException("--method dino needs at least 2 samples per batch.");
        var global = ImageInput.ToTensor(batch, Device, 0, 2);
        var local = batch.Views > 2 ? ImageInput.ToTensor(batch, Device, 2, batch.Views - 2) : null;
        return Distillation.Loss(Network.Encoder, global, local, batch.Count);
    }

    public override void AfterStep(double progress) => Distillation.UpdateTeacher(Network.Encoder, progress);

    public override void ModelReplaced() => ModuleState.Copy(Network, Distillation.TeacherModel);

    public override byte[] SaveState() => Distillation.SaveState();

    public override void LoadState(byte[] state) => Distillation.LoadState(state);

    protected override void Dispose(bool disposing)
    {
        if (disposing) Distillation.Dispose();
        base.Dispose(disposing);
    }
}
