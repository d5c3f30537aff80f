// The data-parallel oracle. Trains three small float64 problems for 3 steps with the production distributed pieces
// (DataParallel's broadcast and gradient averaging, GlobalBatch's two-stage gather, GlobalContrastLoss, the MoCo queue
// fed with every rank's keys) on a model without BatchNorm, and writes each step's loss and averaged gradient and the
// final parameters as JSON. One process trains on the global batch of 2B samples; under `mpirun -np 2` each rank trains
// on its B of them. The results must agree (tests/Training.Tests/DistributedOracleTests.cs).
//   usage: Contrastive.MpiOracle OUT.json     (each rank writes OUT.json.rank<R>)
using System.Text.Json;
using Contrastive.Training;
using TorchSharp;
using static TorchSharp.torch;

const int GlobalBatch = 8, Input = 6, Hidden = 5, Output = 4, Steps = 3;
var launch = LaunchEnvironment.Detect(Environment.GetEnvironmentVariable);
using IProcessGroup group = launch.Distributed ? MpiProcessGroup.Open(launch) : SingleProcessGroup.Instance;
if (GlobalBatch % group.WorldSize != 0) throw new ArgumentException($"the global batch {GlobalBatch} does not split over {group.WorldSize} ranks");
int local = GlobalBatch / group.WorldSize, first = group.Rank * local;

var results = new Dictionary<string, object>
{
    ["world_size"] = group.WorldSize,
    ["rank"] = group.Rank,
    ["simclr"] = Pairs(keyOf: j => -1 - j, temperature: 0.5),
    ["supcon"] = Pairs(keyOf: j => j % 3, temperature: 0.2),
    ["moco"] = Moco(),
    // SimCLR through BatchNorm: synchronised across the ranks, it normalises with the global batch's statistics.
    ["simclr_syncbn"] = Pairs(keyOf: j => -1 - j, temperature: 0.5, batchNorm: true),
    // CLIP: view 0 through an "image" tower, view 1 through a "text" tower, a learnable logit scale; every rank's images
    // against every rank's texts (IGlobalBatchLoss's two stages with ClipLoss.GlobalShare).
    ["clip"] = Clip(),
};
File.WriteAllText($"{args[0]}.rank{group.Rank}", JsonSerializer.Serialize(results));
return 0;

// Global sample j of step s: two views, deterministic from (s, j) alone.
double[] View(int step, int sample, int view)
{
    var random = new Random(step * 1000 + sample * 10 + view);
    return [.. Enumerable.Range(0, Input).Select(_ => random.NextDouble() * 2 - 1)];
}

// This rank's samples of a step, view 0 of each then view 1: [2·local, Input].
Tensor Rows(int step) =>
    tensor(Enumerable.Range(0, 2).SelectMany(v => Enumerable.Range(first, local).SelectMany(j => View(step, j, v))).ToArray(), ScalarType.Float64)
        .view(2 * local, Input);

nn.Module<Tensor, Tensor> Model(bool batchNorm = false)
{
    torch.manual_seed(1);
    nn.Module<Tensor, Tensor> m = batchNorm
        ? new Chain(nn.Linear(Input, Hidden), nn.BatchNorm1d(Hidden), nn.Tanh(), nn.Linear(Hidden, Output))
        : nn.Sequential(nn.Linear(Input, Hidden), nn.Tanh(), nn.Linear(Hidden, Output));
    m.to(ScalarType.Float64);
    return m;
}

double[] Flat(IEnumerable<Tensor> tensors) => [.. tensors.SelectMany(t => t.detach().cpu().reshape(-1).data<double>().ToArray())];

// Three steps of SGD on a model: each step's backward (returning this rank's loss), gradients averaged over the ranks.
Dictionary<string, object> Train(nn.Module<Tensor, Tensor> model, Func<int, double> backward, Action? afterStep = null)
{
    var parameters = model.parameters().ToArray();
    using var parallel = new DataParallel(group, parameters);
    parallel.Broadcast(model);
    var optimizer = torch.optim.SGD(parameters, 0.5);
    var losses = new List<double>();
    var grads = new List<double[]>();
    for (int s = 0; s < Steps; s++)
    {
        using var scope = NewDisposeScope();
        optimizer.zero_grad();
        losses.Add(parallel.AverageGradients(backward(s)));
        grads.Add(Flat(parameters.Select(p => p.grad!)));
        optimizer.step();
        afterStep?.Invoke();
    }
    return new() { ["losses"] = losses, ["grads"] = grads, ["params"] = Flat(parameters), ["buffers"] = Flat(model.buffers().Where(b => b.is_floating_point())) };
}

// SimCLR (instance keys) or SupCon (class keys) with global negatives.
Dictionary<string, object> Pairs(Func<int, long> keyOf, double temperature, bool batchNorm = false)
{
    var model = Model(batchNorm);
    return Train(model, s =>
    {
        var rowKeys = Enumerable.Range(0, 2).SelectMany(_ => Enumerable.Range(0, local).Select(i => keyOf(first + i) < 0 ? -1 - i : keyOf(first + i))).ToArray();
        var keys = Contrastive.Training.GlobalBatch.GlobalKeys(group, rowKeys, CPU);
        using var sync = SyncBatchNorm.Enter(group);
        var z = model.forward(Rows(s));
        var (value, grad) = Contrastive.Training.GlobalBatch.Gradient(group, z.detach(),
            (all, start) => GlobalContrastLoss.Compute(all, keys, start, z.shape[0], temperature, group.WorldSize));
        z.backward([grad]);
        return value;
    });
}

// CLIP with the global batch: this rank's rows are its image embeddings then its text embeddings.
Dictionary<string, object> Clip()
{
    var towers = new TwoTowers(Model(), Model(), Math.Log(1 / 0.07));
    towers.to(ScalarType.Float64);
    return Train(towers, s =>
    {
        var rows = Rows(s);
        var z = cat([towers.Images.forward(rows.narrow(0, 0, local)), towers.Texts.forward(rows.narrow(0, local, local))], 0);
        var (value, grad) = Contrastive.Training.GlobalBatch.Gradient(group, z.detach(),
            (all, start) => ClipLoss.GlobalShare(all, start, local, group.WorldSize, towers.LogScale));
        z.backward([grad]);
        return value;
    });
}

// MoCo: queries against the momentum keys and a queue that every rank's keys join.
Dictionary<string, object> Moco()
{
    var model = Model();
    using var contrast = new MomentumContrast(model, () => Model(), queueSize: 16, momentum: 0.9, temperature: 0.2, dim: Output, seed: 3, device: CPU);
    Tensor? keys = null;
    var result = Train(model, s =>
    {
        var loss = contrast.Loss(model, Rows(s), local, out var k);
        keys = k;
        loss.backward();
        return loss.ToDouble();
    }, () =>
    {
        contrast.UpdateKey(model);
        contrast.Enqueue(group.AllGather(keys!));
    });
    result["queue"] = Flat([contrast.Queue]);
    return result;
}

/// <summary>Two towers and a log logit scale in one module, so that DataParallel broadcasts and averages all of them.</summary>
internal sealed class TwoTowers : nn.Module<Tensor, Tensor>
{
    public TwoTowers(nn.Module<Tensor, Tensor> images, nn.Module<Tensor, Tensor> texts, double logScale) : base(nameof(TwoTowers))
    {
        Images = images;
        Texts = texts;
        LogScale = new TorchSharp.Modules.Parameter(tensor(logScale, ScalarType.Float64));
        RegisterComponents();
    }

    public nn.Module<Tensor, Tensor> Images { get; }

    public nn.Module<Tensor, Tensor> Texts { get; }

    public TorchSharp.Modules.Parameter LogScale { get; }

    public override Tensor forward(Tensor x) => Images.forward(x);
}
