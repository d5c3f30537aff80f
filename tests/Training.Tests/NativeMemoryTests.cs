using System.Diagnostics;
using Contrastive.Batching;
using TorchSharp;

namespace Contrastive.Training.Tests;

[CollectionDefinition(nameof(MemoryCollection), DisableParallelization = true)]
public sealed class MemoryCollection;

/// <summary>Every step runs in its own dispose scope: 500 steps leave native memory where step 100 left it.</summary>
[Collection(nameof(MemoryCollection))]
public class NativeMemoryTests
{
    [Theory]
    [InlineData("fp32")]
    [InlineData("bf16")] // the casts' copies are freed too
    public void Five_hundred_training_steps_keep_the_working_set_flat(string precision)
    {
        var options = new TrainingOptions { Encoder = "convnet", Seed = 1, Threads = 1, LearningRate = 1e-3, Precision = precision };
        using var trainer = TestTrainers.Create(options, 16);
        var batch = new Batch(2, 32, 16) { Count = 32 };
        new Random(2).NextBytes(batch.Pixels);

        using var process = Process.GetCurrentProcess();
        long Settled()
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            process.Refresh();
            return process.WorkingSet64;
        }

        long at100 = 0;
        for (int step = 1; step <= 500; step++)
        {
            double loss = trainer.TrainStep(batch, step / 500.0);
            Assert.False(double.IsNaN(loss));
            if (step == 100) at100 = Settled();
        }
        long at500 = Settled();
        // One leaked input tensor per step (2 × 32 × 3 × 16 × 16 floats = 196 KB) would add 78 MB over these 400 steps.
        double grownMb = (at500 - at100) / 1e6;
        Assert.True(grownMb < 25, $"working set grew {grownMb:F1} MB between step 100 and step 500 ({at100 / 1e6:F0} → {at500 / 1e6:F0} MB)");
        Assert.Equal(500, trainer.Step);
    }
}
