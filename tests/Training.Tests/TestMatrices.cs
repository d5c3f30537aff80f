namespace Contrastive.Training.Tests;

/// <summary>Deterministic small matrices for the loss tests.</summary>
internal static class TestMatrices
{
    /// <summary>An n × d matrix of uniform values in [-1, 1) from <paramref name="seed"/>.</summary>
    public static float[,] Random(int n, int d, int seed)
    {
        var rng = new System.Random(seed);
        var x = new float[n, d];
        for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) x[i, j] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }
}
