namespace Contrastive.Training;

/// <summary>
/// A paper's optimizer settings for one optimizer: the peak learning rate (per 256 samples when <see cref="ScaleWithBatch"/>),
/// the weight decay, and where they come from. A method's options give them (<see cref="IOptimizerRecipes"/>); the
/// trainer uses them where Training:LearningRate, LrBatchScaling or WeightDecay are not set.
/// </summary>
/// <param name="LearningRate">Peak rate after warmup; with <paramref name="ScaleWithBatch"/>, for a batch of 256.</param>
/// <param name="WeightDecay">Weight decay.</param>
/// <param name="Source">The paper or code the values come from, for the log and the docs.</param>
/// <param name="ScaleWithBatch">Whether the rate scales with batch / 256 (the linear scaling rule).</param>
public sealed record OptimizerRecipe(double LearningRate, double WeightDecay, string Source, bool ScaleWithBatch = true);
