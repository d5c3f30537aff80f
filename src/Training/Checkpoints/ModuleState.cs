using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>A module's weights and buffers as bytes (TorchSharp's format), for checkpoints and copies between networks.</summary>
internal static class ModuleState
{
    public static byte[] Save(nn.Module module)
    {
        using var ms = new MemoryStream();
        using (var writer = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true)) module.save(writer);
        return ms.ToArray();
    }

    public static void Load(nn.Module module, byte[] state)
    {
        using var ms = new MemoryStream(state);
        using var reader = new BinaryReader(ms);
        module.load(reader);
    }

    /// <summary>Copies <paramref name="from"/>'s weights into <paramref name="to"/> (same architecture).</summary>
    public static void Copy(nn.Module from, nn.Module to) => Load(to, Save(from));
}
