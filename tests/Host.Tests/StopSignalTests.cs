using System.Diagnostics;
using System.Text.Json;

namespace Contrastive.Host.Tests;

/// <summary>The real executable, stopped by SIGTERM as a service manager would, leaves a checkpoint and exits cleanly.</summary>
public sealed class StopSignalTests() : TempFolderTest("sig")
{

    [Fact]
    public async Task Sigterm_writes_a_checkpoint_and_exits_zero()
    {
        string data = Path.Combine(Folder, "demo"), run = Path.Combine(Folder, "run");
        var (code, _, err) = await CliRunner.Run("demo-data", "--output", data, "--count", "300");
        Assert.True(code == 0, err);

        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "contrastive.dll"), "train", "--data", data, "--out", run,
                     "--max-minutes", "10", "--batch-size", "16", "--workers", "1", "--checkpoint-every", "0", "--json" })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stepSeen = new TaskCompletionSource();
        var stderr = new System.Text.StringBuilder();
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stderr) stderr.AppendLine(e.Data);
            if (e.Data.Contains("Training simclr")) stepSeen.TrySetResult();
        };
        p.BeginErrorReadLine();
        try
        {
            await stepSeen.Task.WaitAsync(TimeSpan.FromMinutes(2));
            await Task.Delay(3000); // let it take some steps
            using (var kill = Process.Start("kill", ["-TERM", p.Id.ToString()])) await kill.WaitForExitAsync();
            await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        }
        finally
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
        }

        string log;
        lock (stderr) log = stderr.ToString();
        Assert.True(p.ExitCode == 0, $"exit {p.ExitCode}: {log}");
        var lines = (await stdout).Trim().Split('\n');
        var r = JsonDocument.Parse(lines[^1]).RootElement;
        Assert.True(r.GetProperty("interrupted").GetBoolean());
        long steps = r.GetProperty("steps").GetInt64();
        Assert.True(steps > 0, log);
        string checkpoint = r.GetProperty("checkpoint").GetString()!;
        Assert.EndsWith($"ckpt-{steps:D9}.ckpt", checkpoint);
        Assert.Equal(steps, Contrastive.Training.CheckpointStore.Read(checkpoint).Info.Step);
        Assert.Equal(JsonValueKind.Null, r.GetProperty("knn_top1").ValueKind);
    }
}
