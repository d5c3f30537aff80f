namespace Contrastive.Training;

/// <summary>Method options that carry their paper's optimizer settings.</summary>
public interface IOptimizerRecipes
{
    /// <summary>The paper's settings for <paramref name="optimizer"/> ("adamw", "sgd", "lars"), or null where the paper used another optimizer (the shared defaults then apply).</summary>
    OptimizerRecipe? RecipeFor(string optimizer);
}
