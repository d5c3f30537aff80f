namespace Contrastive.Training.Tests;

/// <summary>Each method's paper settings for sgd and lars fill the learning rate and weight decay not given; adamw runs keep the shared defaults.</summary>
public sealed class OptimizerRecipeTests
{
    [Theory]
    // method, optimizer, batch: the paper's peak rate and weight decay
    [InlineData("simclr", "lars", 512, 0.3 * 512 / 256, 1e-6)]   // SimCLR: LARS 0.3 × batch / 256, 1e-6
    [InlineData("byol", "lars", 256, 0.2, 1.5e-6)]               // BYOL: LARS 0.2 × batch / 256, 1.5e-6
    [InlineData("moco", "sgd", 128, 0.03 * 128 / 256, 1e-4)]     // MoCo v2: SGD 0.03 at batch 256, 1e-4
    [InlineData("supcon", "sgd", 1024, 0.5, 1e-4)]               // SupCon's CIFAR code: SGD 0.5 at batch 1024, 1e-4
    [InlineData("dino", "sgd", 256, 0.03, 1e-4)]                 // DINO's ResNet-50 recipe: SGD 0.03 × batch / 256, 1e-4
    // Optimizers a method's paper did not use: the shared defaults (SimCLR's rate, 1e-4).
    [InlineData("simclr", "sgd", 128, 0.3 * 128 / 256, 1e-4)]
    [InlineData("moco", "lars", 256, 0.3, 1e-4)]
    [InlineData("cpc", "sgd", 256, 0.3, 1e-4)]
    public void A_methods_paper_fills_the_rate_and_decay_for_its_optimizer(string method, string optimizer, int batch, double lr, double decay)
    {
        var options = new TrainingOptions { Method = method, Optimizer = optimizer };
        var recipe = (MethodRegistry.Get(method).NewOptions() as IOptimizerRecipes)?.RecipeFor(optimizer);
        Assert.Equal(lr, options.EffectiveLearningRate(batch, recipe), 12);
        Assert.Equal(decay, options.EffectiveWeightDecay(recipe), 15);
    }

    [Theory]
    [InlineData("supcon")]
    [InlineData("moco")]
    [InlineData("byol")]
    [InlineData("dino")]
    [InlineData("cpc")]
    public void Adamw_the_default_keeps_the_shared_rate_and_decay_for_every_method_but_simclr(string method)
    {
        var options = new TrainingOptions { Method = method };
        var recipe = (MethodRegistry.Get(method).NewOptions() as IOptimizerRecipes)?.RecipeFor(options.Optimizer);
        Assert.Null(recipe);
        Assert.Equal(1e-3, options.EffectiveLearningRate(128, recipe), 12);
        Assert.Equal(1e-4, options.EffectiveWeightDecay(recipe), 15);
    }

    [Fact]
    public void Simclr_with_adamw_takes_its_measured_rate_unscaled_unless_one_is_given()
    {
        var recipe = new SimClrOptions().RecipeFor("adamw");
        Assert.Equal(SimClrOptions.AdamWLearningRate, new TrainingOptions().EffectiveLearningRate(128, recipe), 12);
        Assert.Equal(SimClrOptions.AdamWLearningRate, new TrainingOptions().EffectiveLearningRate(1024, recipe), 12);
        Assert.Equal(1e-4, new TrainingOptions().EffectiveWeightDecay(recipe), 15);
        Assert.Equal(1e-3, new TrainingOptions { LearningRate = 1e-3 }.EffectiveLearningRate(128, recipe), 12);
        using var trainer = TestTrainers.Create(new TrainingOptions { Seed = 1 }, 8, batchSize: 64);
        Assert.Equal(SimClrOptions.AdamWLearningRate, trainer.LearningRate, 12);
        Assert.Equal("SimCLR's AdamW rate for short runs", trainer.Recipe?.Source);
    }

    [Fact]
    public void What_is_given_wins_over_the_recipe()
    {
        var recipe = new MocoOptions().RecipeFor("sgd");
        Assert.Equal(0.1 * 512 / 256, new TrainingOptions { Optimizer = "sgd", LearningRate = 0.1 }.EffectiveLearningRate(512, recipe), 12);
        Assert.Equal(0.03, new TrainingOptions { Optimizer = "sgd", LrBatchScaling = false }.EffectiveLearningRate(512, recipe), 12);
        Assert.Equal(5e-4, new TrainingOptions { Optimizer = "sgd", WeightDecay = 5e-4 }.EffectiveWeightDecay(recipe), 15);
        Assert.Equal(0.0, new TrainingOptions { Optimizer = "sgd", WeightDecay = 0 }.EffectiveWeightDecay(recipe), 15);
    }

    [Fact]
    public void The_trainer_steps_with_the_recipe_and_says_so()
    {
        using var trainer = TestTrainers.Create(new TrainingOptions { Method = "moco", Optimizer = "sgd", Seed = 1 }, 8, batchSize: 64);
        Assert.Equal(0.03 * 64 / 256, trainer.LearningRate, 12);
        Assert.Equal(1e-4, trainer.WeightDecay, 15);
        Assert.Equal("MoCo v2's SGD recipe", trainer.Recipe?.Source);
        using var adamw = TestTrainers.Create(new TrainingOptions { Method = "moco", Seed = 1 }, 8, batchSize: 64);
        Assert.Null(adamw.Recipe);
        Assert.Equal(1e-3, adamw.LearningRate, 12);
    }
}
