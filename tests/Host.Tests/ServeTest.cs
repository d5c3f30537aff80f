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
        // The service read rank 0's result.json (written whole when the run ended), the line each rank printed agrees with it.
        var written = JsonDocument.Parse(File.ReadAllText(Path.Combine(State, "jobs", id, "result.json"))).RootElement;
        Assert.Equal(0, written.GetProperty("rank").GetInt32());
        Assert.Equal(steps, written.GetProperty("steps").GetInt64());
        Assert.Equal(result.GetProperty("parameter_checksum").GetString(), written.GetProperty("parameter_checksum").GetString());
        var lines = File.ReadAllLines(Path.Combine(State, "jobs", id, "stdout.log")).Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal([0, 1], lines.Select(l => l.GetProperty("rank").GetInt32()).Order());
        Assert.Single(lines.Select(l => l.GetProperty("parameter_checksum").GetString()).Distinct());
    }
}
