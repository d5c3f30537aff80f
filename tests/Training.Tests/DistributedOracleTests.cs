using System.Diagnostics;
using System.Text.Json;
using Contrastive.Tests.Shared;

namespace Contrastive.Training.Tests;

/// <summary>
/// The data-parallel correctness oracle (tests/MpiOracle), in float64 on a model without BatchNorm with different data on
/// each rank: 2 real MPI ranks with batch B give the same losses, averaged gradients and parameters over 3 steps as one
/// process with batch 2B, for SimCLR and SupCon with global negatives, MoCo with a queue fed by every rank, and SimCLR
/// through a synchronised BatchNorm (global batch statistics in forward and backward).
/// (Checked once by hand: with GlobalBatch's all-reduce of the gathered representations' gradient removed, SimCLR's
/// gradients differ by 0.13 and SupCon's by 0.27, so this test fails.)
/// </summary>
public sealed class DistributedOracleTests : IDisposable
{
    private const double Tolerance = 1e-9;
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "cp-oracle-" + Guid.NewGuid().ToString("N")[..8]);

    public DistributedOracleTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }

    private static string OracleDll()
    {
        // tests/Training.Tests/bin/<Configuration>/net10.0/ -> tests/MpiOracle/bin/<Configuration>/net10.0/
        var dir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string configuration = dir.Parent!.Name, tests = dir.Parent!.Parent!.Parent!.Parent!.FullName;
        string dll = Path.Combine(tests, "MpiOracle", "bin", configuration, "net10.0", "Contrastive.MpiOracle.dll");
        Assert.True(File.Exists(dll), $"the oracle was not built: {dll}");
        return dll;
    }

    [Fact]
    public async Task Two_ranks_with_batch_B_match_one_process_with_batch_2B_in_float64()
    {
        string dll = OracleDll();
        string single = Path.Combine(_folder, "single.json"), dist = Path.Combine(_folder, "dist.json");

        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        psi.ArgumentList.Add(single);
        foreach (var name in new[] { "RANK", "WORLD_SIZE", "LOCAL_RANK", "OMPI_COMM_WORLD_SIZE" }) psi.Environment.Remove(name);
        using (var p = Process.Start(psi)!)
        {
            var err = p.StandardError.ReadToEndAsync();
            await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
            Assert.True(p.ExitCode == 0, await err);
        }
        var (code, output, error) = await Mpirun.Run(2, dll, [dist], TimeSpan.FromMinutes(3));
        Assert.True(code == 0, $"mpirun exit {code}\n{output}\n{error}");

        var reference = JsonDocument.Parse(File.ReadAllText(single + ".rank0")).RootElement;
        Assert.Equal(1, reference.GetProperty("world_size").GetInt32());
        foreach (int rank in new[] { 0, 1 })
        {
            var r = JsonDocument.Parse(File.ReadAllText($"{dist}.rank{rank}")).RootElement;
            Assert.Equal(2, r.GetProperty("world_size").GetInt32());
            Assert.Equal(rank, r.GetProperty("rank").GetInt32());
            foreach (var method in new[] { "simclr", "supcon", "moco", "simclr_syncbn", "clip" })
            {
                var (a, b) = (reference.GetProperty(method), r.GetProperty(method));
                var lossA = Values(a.GetProperty("losses"));
                Assert.Equal(3, lossA.Length);
                Assert.All(lossA, l => Assert.True(l > 0.1 && double.IsFinite(l), $"{method}: loss {l}"));
                Close(lossA, Values(b.GetProperty("losses")), $"{method} losses, rank {rank}");
                var gradsA = a.GetProperty("grads").EnumerateArray().Select(Values).ToArray();
                var gradsB = b.GetProperty("grads").EnumerateArray().Select(Values).ToArray();
                Assert.Equal(3, gradsB.Length);
                for (int s = 0; s < 3; s++)
                {
                    Assert.True(gradsA[s].Sum(g => g * g) > 1e-8, $"{method}: the gradient of step {s} is zero");
                    Close(gradsA[s], gradsB[s], $"{method} gradients of step {s}, rank {rank}");
                }
                Close(Values(a.GetProperty("params")), Values(b.GetProperty("params")), $"{method} parameters after 3 steps, rank {rank}");
                if (method == "moco") Close(Values(a.GetProperty("queue")), Values(b.GetProperty("queue")), $"moco queue, rank {rank}");
                if (method == "simclr_syncbn")
                {
                    var buffers = Values(a.GetProperty("buffers"));
                    Assert.True(buffers.Length > 0 && buffers.Any(v => v != 0 && v != 1), "the BatchNorm running statistics did not move");
                    Close(buffers, Values(b.GetProperty("buffers")), $"synchronised BatchNorm running statistics, rank {rank}");
                }
            }
        }
    }

    private static double[] Values(JsonElement e) => [.. e.EnumerateArray().Select(v => v.GetDouble())];

    private static void Close(double[] expected, double[] actual, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {expected.Length} values vs {actual.Length}");
        double worst = expected.Zip(actual, (x, y) => Math.Abs(x - y)).Max();
        Assert.True(worst <= Tolerance, $"{what}: largest difference {worst:g3} > {Tolerance:g1}");
    }
}
