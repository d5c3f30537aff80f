using BenchmarkDotNet.Running;

namespace Contrastive.Perf;

/// <summary>
/// Benchmarks: dotnet run -c Release --project perf -- --filter '*'
/// (BenchmarkDotNet's own arguments: --filter, --job short, ...).
/// </summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
