using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Contrastive.Training;

/// <summary>SimCLR's projection MLP: Linear → BatchNorm → ReLU → Linear (Chen et al. 2020, v2 uses BN).</summary>
public sealed class ProjectionHead : Module<Tensor, Tensor>
{
    private readonly Chain _mlp;

    public ProjectionHead(int inputDim, int hiddenDim, int outputDim) : base(nameof(ProjectionHead))
    {
        OutputDim = outputDim;
        _mlp = new Chain(Linear(inputDim, hiddenDim, hasBias: false), BatchNorm1d(hiddenDim), ReLU(inplace: true), Linear(hiddenDim, outputDim));
        RegisterComponents();
    }

    /// <summary>The projection's size.</summary>
    public int OutputDim { get; }

    public override Tensor forward(Tensor x) => _mlp.forward(x);

    /// <summary>Adds the head to an ONNX graph after <paramref name="x"/> ([N, in]), its weights named <paramref name="prefix"/>I.*; returns <paramref name="output"/>.</summary>
    internal string Onnx(OnnxGraph g, string x, string prefix, string output)
    {
        var state = state_dict();
        string W(string name) => g.Weight(prefix + name, state["_mlp." + name]);
        var h = g.Linear(x, W("0.weight"), null);
        h = g.Relu(g.BatchNorm(h, W("1.weight"), W("1.bias"), W("1.running_mean"), W("1.running_var")));
        return g.Linear(h, W("3.weight"), W("3.bias"), output);
    }
}
