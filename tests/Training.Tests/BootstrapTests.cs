using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training.Tests;

public class BootstrapTests
{
    private static ProjectedEncoder Model() => new("convnet", true, 32, 8);

    [Fact]
    public void Tau_rises_on_a_cosine_from_its_base_to_one_and_the_target_follows_by_it()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(3);
        using var online = Model();
        using var byol = new ByolTarget(online, Model, dim: 8, hidden: 16, baseTau: 0.99, CPU);
        Assert.Equal(0.99, byol.Tau(0), 12);
        Assert.Equal(0.995, byol.Tau(0.5), 12);
        Assert.Equal(1.0, byol.Tau(1), 12);
        Assert.All(byol.Target.parameters(), p => Assert.False(p.requires_grad));

        var t0 = byol.Target.parameters().First().data<float>().ToArray();
        using (no_grad()) foreach (var p in online.parameters()) p.add_(1f);
        var o1 = online.parameters().First().data<float>().ToArray();
        byol.UpdateTarget(online, 0.5);
        var t1 = byol.Target.parameters().First().data<float>().ToArray();
        for (int i = 0; i < t1.Length; i++) Assert.Equal(0.995f * t0[i] + 0.005f * o1[i], t1[i], 1e-5f);
    }

    [Fact]
    public void The_loss_is_the_symmetric_regression_and_only_the_online_side_learns()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(4);
        using var online = Model();
        using var byol = new ByolTarget(online, Model, dim: 8, hidden: 16, baseTau: 0.99, CPU);
        var x = randn(2 * 6, 3, 16, 16);
        var loss = byol.Loss(online, x, 6);
        Assert.InRange(loss.item<float>(), 0.0, 8.0); // two terms of 2 − 2·cos, each in [0, 4]
        loss.backward();
        Assert.Contains(online.parameters(), p => p.grad is not null && p.grad.abs().sum().item<float>() > 0);
        Assert.Contains(byol.Predictor.parameters(), p => p.grad is not null && p.grad.abs().sum().item<float>() > 0);
        Assert.All(byol.Target.parameters(), p => Assert.True(p.grad is null));

        var state = byol.SaveState();
        using var other = new ByolTarget(Model(), Model, 8, 16, 0.9, CPU);
        other.LoadState(state);
        Assert.Equal(byol.Target.parameters().Last().data<float>().ToArray(), other.Target.parameters().Last().data<float>().ToArray());
        Assert.Equal(byol.Predictor.parameters().First().data<float>().ToArray(), other.Predictor.parameters().First().data<float>().ToArray());
    }
}
