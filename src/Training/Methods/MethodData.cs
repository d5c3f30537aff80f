namespace Contrastive.Training;

/// <summary>What a method trains on.</summary>
public enum MethodData
{
    /// <summary>Images, decoded and augmented into views (uint8 batches).</summary>
    Images,

    /// <summary>Time series, cut into float windows.</summary>
    Series,

    /// <summary>Text alone: the captions of captioned data, tokenized (the images are not decoded).</summary>
    Text,
}
