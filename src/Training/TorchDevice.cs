using TorchSharp;

namespace Contrastive.Training;

/// <summary>
/// Chooses the torch device for "auto", "cpu", "cuda" or "cuda:N". "cuda" (and "auto" with CUDA) take the GPU of the
/// process's local rank (mpirun's OMPI_COMM_WORLD_LOCAL_RANK, srun's SLURM_LOCALID or torchrun's LOCAL_RANK; see
/// <see cref="LaunchEnvironment"/>), so each process on a machine gets its own GPU.
/// </summary>
public static class TorchDevice
{
    /// <param name="localRank">This process's rank on its machine (the launcher's): "auto" and "cuda" pick GPU localRank mod the GPUs present.</param>
    public static torch.Device Resolve(string name, int localRank = 0)
    {
        string n = name.ToLowerInvariant();
        if (n.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(n[5..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int index))
        {
            if (!torch.cuda.is_available())
                throw new InvalidOperationException($"--device {name} was asked for, but CUDA is not available: this build uses TorchSharp-cpu (build with -p:TorchBackend=cuda) or no GPU/driver is present.");
            if (index >= torch.cuda.device_count())
                throw new InvalidOperationException($"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s).");
            return torch.device(DeviceType.CUDA, index);
        }
        switch (n)
        {
            case "cpu":
                return torch.CPU;
            case "cuda":
                if (!torch.cuda.is_available())
                    throw new InvalidOperationException("--device cuda was asked for, but CUDA is not available: this build uses TorchSharp-cpu (build with -p:TorchBackend=cuda) or no GPU/driver is present.");
                return LocalRankDevice(localRank);
            case "auto":
                return torch.cuda.is_available() ? LocalRankDevice(localRank) : torch.CPU;
            default:
                throw new ArgumentException($"Unknown device '{name}': use auto, cpu, cuda or cuda:N.");
        }
    }

    private static torch.Device LocalRankDevice(int localRank)
    {
        int count = torch.cuda.device_count();
        int local = localRank;
        return count > 0 ? torch.device(DeviceType.CUDA, local % count) : torch.CUDA;
    }
}
