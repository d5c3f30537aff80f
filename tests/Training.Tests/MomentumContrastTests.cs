using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training.Tests;

public class MomentumContrastTests
{
    private static ProjectedEncoder Model() => new("convnet", true, 32, 8);

    [Fact]
    public void The_key_network_follows_by_momentum_and_the_queue_wraps_around()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(1);
        using var query = Model();
        using var moco = new MomentumContrast(query, Model, queueSize: 5, momentum: 0.9, temperature: 0.2, dim: 8, seed: 3, CPU);
        var k0 = moco.Key.parameters().First().data<float>().ToArray();
        Assert.Equal(query.parameters().First().data<float>().ToArray(), k0); // starts as a copy
        Assert.All(moco.Key.parameters(), p => Assert.False(p.requires_grad));

        using (no_grad()) foreach (var p in query.parameters()) p.add_(1f);
        var q1 = query.parameters().First().data<float>().ToArray();
        moco.UpdateKey(query);
        var k1 = moco.Key.parameters().First().data<float>().ToArray();
        for (int i = 0; i < k1.Length; i++) Assert.Equal(0.9f * k0[i] + 0.1f * q1[i], k1[i], 1e-5f);

        var keys = arange(7 * 8, dtype: ScalarType.Float32).reshape(7, 8);
        moco.Enqueue(keys.narrow(0, 0, 3));   // rows 0..2
        moco.Enqueue(keys.narrow(0, 3, 4));   // rows 3, 4, then wraps to 0, 1
        Assert.Equal(keys[5].data<float>().ToArray(), moco.Queue[0].data<float>().ToArray());
        Assert.Equal(keys[6].data<float>().ToArray(), moco.Queue[1].data<float>().ToArray());
        Assert.Equal(keys[2].data<float>().ToArray(), moco.Queue[2].data<float>().ToArray());
        Assert.Equal(keys[4].data<float>().ToArray(), moco.Queue[4].data<float>().ToArray());
    }

    [Fact]
    public void The_loss_is_cross_entropy_over_the_positive_and_the_queue_and_its_state_round_trips()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(2);
        using var query = Model();
        using var moco = new MomentumContrast(query, Model, queueSize: 16, momentum: 0.99, temperature: 0.2, dim: 8, seed: 3, CPU);
        var x = randn(2 * 6, 3, 16, 16);
        var loss = moco.Loss(query, x, 6, out var keys);
        Assert.Equal(new long[] { 6, 8 }, keys.shape);
        Assert.InRange(loss.item<float>(), 0.01, 50);
        loss.backward();
        Assert.Contains(query.parameters(), p => p.grad is not null && p.grad.abs().sum().item<float>() > 0);

        moco.Enqueue(keys);
        var state = moco.SaveState();
        using var other = new MomentumContrast(query, Model, queueSize: 16, momentum: 0.99, temperature: 0.2, dim: 8, seed: 9, CPU);
        other.LoadState(state);
        Assert.Equal(moco.Queue.data<float>().ToArray(), other.Queue.data<float>().ToArray());
        Assert.Equal(moco.Key.parameters().Last().data<float>().ToArray(), other.Key.parameters().Last().data<float>().ToArray());
        using var wrongSize = new MomentumContrast(query, Model, queueSize: 8, momentum: 0.99, temperature: 0.2, dim: 8, seed: 3, CPU);
        Assert.Throws<InvalidDataException>(() => wrongSize.LoadState(state));
    }
}
