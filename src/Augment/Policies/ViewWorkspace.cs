namespace Contrastive.Augment;

/// <summary>Per-worker scratch memory for making views; reused for every sample, so steady state allocates nothing.</summary>
public sealed class ViewWorkspace
{
    internal readonly PlanarOps.Scratch Planar = new();
    internal float[] Work = [];
    internal float[] Kernel = [];

    /// <summary>Three planes of size × size floats (R, G, B), the view being made.</summary>
    internal Span<float> WorkFor(int size)
    {
        int n = size * size * 3;
        if (Work.Length < n) Work = new float[n];
        return Work.AsSpan(0, n);
    }

    internal Span<float> KernelFor(int k)
    {
        if (Kernel.Length != k) Kernel = new float[k];
        return Kernel;
    }
}
