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
        _mlp = new Chain(Linear(inputDim, hiddenDim, hasBias: false), BatchNorm1d(hiddenDim), ReLU(inplace: true), Linear(hiddenDim, outputDim));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => _mlp.forward(x);
}
