using System.Text.Json;

namespace Contrastive.Host.Tests;

/// <summary>What the service's tests share: a data root and a state directory in the test's folder, the demo data, a small job spec.</summary>
public abstract class ServeTest(string prefix) : TempFolderTest(prefix)
{
    protected static readonly TimeSpan Minutes3 = TimeSpan.FromMinutes(3);

    protected string DataRoot => Path.Combine(Folder, "data");

    protected string State => Path.Combine(Folder, "state");

    /// <summary>300 demo images at <paramref name="folder"/> (default DATA_ROOT/demo).</summary>
    protected async Task MakeData(string? folder = null)
    {
        var (code, _, err) = await CliRunner.Run("demo-data", "--output", folder ?? Path.Combine(DataRoot, "demo"), "--count", "300");
        Assert.True(code == 0, err);
    }

    /// <summary>A small SimCLR job on "demo" (batch 16, one worker, a checkpoint every 5 steps), with more fields in <paramref name="extra"/> (",\"key\":value…").</summary>
    protected static string Spec(long maxSteps, string extra = "") =>
        $$"""{"method":"simclr","data":"demo","max_steps":{{maxSteps}},"batch_size":16,"workers":1,"checkpoint_every":5{{extra}}}""";

    protected static string Id(JsonElement job) => job.GetProperty("id").GetString()!;

    /// <summary>A finished job of two processes: world size 2, <paramref name="steps"/> steps, and each rank's result line (stdout.log) with the same parameters.</summary>
    protected void AssertTwoRanksAgree(JsonElement done, string id, long steps)
    {
        var result = done.GetProperty("result");
        Assert.Equal(2, result.GetProperty("world_size").GetInt32());
        Assert.Equal(steps, result.GetProperty("steps").GetInt64());
        // The service read rank 0's result.json; each rank left its own (written whole: mpirun interleaves the ranks'
        // stdout lines in 256-byte pieces), and the two ranks ended with the same parameters.
        var ranks = new[] { "result.json", "result.rank1.json" }
            .Select(f => JsonDocument.Parse(File.ReadAllText(Path.Combine(State, "jobs", id, f))).RootElement).ToArray();
        Assert.Equal([0, 1], ranks.Select(r => r.GetProperty("rank").GetInt32()));
        Assert.All(ranks, r => Assert.Equal(steps, r.GetProperty("steps").GetInt64()));
        Assert.All(ranks, r => Assert.Equal(result.GetProperty("parameter_checksum").GetString(), r.GetProperty("parameter_checksum").GetString()));
    }
}
