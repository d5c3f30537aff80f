using TorchSharp;

namespace Contrastive.Training;

/// <summary>Chooses the torch device for "auto", "cpu" or "cuda".</summary>
public static class TorchDevice
{
    public static torch.Device Resolve(string name)
    {
        switch (name.ToLowerInvariant())
        {
            case "cpu":
                return torch.CPU;
            case "cuda":
                if (!torch.cuda.is_available())
                    throw new InvalidOperationException("--device cuda was asked for, but CUDA is not available: this build uses TorchSharp-cpu (build with -p:TorchBackend=cuda) or no GPU/driver is present.");
                return torch.CUDA;
            case "auto":
                return torch.cuda.is_available() ? torch.CUDA : torch.CPU;
            default:
                throw new ArgumentException($"Unknown device '{name}': use auto, cpu or cuda.");
        }
    }
}
