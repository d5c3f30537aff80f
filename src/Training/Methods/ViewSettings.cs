namespace Contrastive.Training;

/// <summary>The views an image method asks of the input pipeline, from the run's augmentation settings.</summary>
/// <param name="Augment">Configuration section "Augment".</param>
/// <param name="MultiCrop">Configuration section "MultiCrop".</param>
public sealed record ViewSettings(AugmentOptions Augment, MultiCropOptions MultiCrop);
