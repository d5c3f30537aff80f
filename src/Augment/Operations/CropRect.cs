namespace Contrastive.Augment;

/// <summary>A crop rectangle in source pixels.</summary>
public readonly record struct CropRect(int X, int Y, int Width, int Height);
