namespace Contrastive.Augment;

/// <summary>Per-worker scratch memory for making views; reused for every sample, so steady state allocates nothing.</summary>
public sealed class ViewWorkspace
{
    internal readonly Resample.Scratch Resample = new();
    internal float[] Work = [];
    internal float[] Temp = [];
    internal float[] Kernel = [];

    internal Span<float> WorkFor(int size)
    {
        int n = size * size * 3;
        if (Work.Length < n) { Work = new float[n]; Temp = new float[n]; }
        return Work.AsSpan(0, n);
    }

    internal Span<float> KernelFor(int k)
    {
        if (Kernel.Length != k) Kernel = new float[k];
        return Kernel;
    }
}
