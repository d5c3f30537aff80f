namespace Contrastive.Training;

/// <summary>DINO's entry in the <see cref="MethodRegistry"/>.</summary>
public sealed class DinoRegistration : MethodRegistration<DinoOptions>
{
    public override string Name => "dino";

    public override string Summary => "DINO (Caron et al. 2021): self-distillation from a centred, sharpened moving-average teacher over multi-crop views.";

    public override MethodData Data => MethodData.Images;

    public override string Section => "Dino";

    public override IReadOnlyList<MethodFlag> Flags { get; } = [new("--local-views", "MultiCrop:LocalViews", "dino: local views per sample besides the 2 global ones.")];

    public override string ViewsDescription => "multi-crop: 2 global + MultiCrop:LocalViews local views (section MultiCrop), BYOL's blur/solarize";

    protected override IViewPolicy? Views(DinoOptions options, ViewSettings views) => new MultiCropViewPolicy(views.Augment, views.MultiCrop);

    protected override IContrastiveMethod Create(MethodContext context, DinoOptions options) => new DinoMethod(context, options);
}
