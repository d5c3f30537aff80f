using System.Diagnostics;

namespace Contrastive.Host.Tests;

/// <summary>
/// On a terminal the long commands show a live display; the real executable runs under util-linux's `script`, which
/// gives it a pseudo-terminal as a person's shell would, and what the terminal received is checked.
/// </summary>
public sealed class TerminalProgressTests() : TempFolderTest("tty")
{
    private async Task<(int Code, string Screen)> OnTerminal(params string[] args)
    {
        string exe = Path.Combine(AppContext.BaseDirectory, "contrastive.dll");
        string command = string.Join(' ', new[] { "dotnet", exe }.Concat(args).Select(a => "'" + a.Replace("'", "'\\''", StringComparison.Ordinal) + "'"));
        var psi = new ProcessStartInfo("script") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-qefc", command, "/dev/null" }) psi.ArgumentList.Add(a);
        psi.Environment["TERM"] = "xterm-256color";
        psi.Environment["COLUMNS"] = "140";
        psi.Environment.Remove("CONTRASTIVE_PROGRESS");
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        try { await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3)); }
        finally { if (!p.HasExited) p.Kill(entireProcessTree: true); }
        return (p.ExitCode, await stdout + await stderr);
    }

    [Fact]
    public async Task Demo_data_and_train_show_a_live_display_on_a_terminal_and_plain_lines_elsewhere()
    {
        string data = Path.Combine(Folder, "demo");
        var (code, screen) = await OnTerminal("demo-data", "--output", data, "--count", "1500", "--width", "16", "--height", "16");
        Assert.True(code == 0, screen);
        Assert.Contains("\u001b[", screen);                // drawn in place with escape sequences
        Assert.Contains("demo-data: 1500 images", screen);
        Assert.Contains("100%", screen);
        Assert.DoesNotContain("wrote " + data, screen);   // the per-shard lines are the display's now

        (code, screen) = await OnTerminal("train", "--data", data, "--out", Path.Combine(Folder, "run"), "--max-steps", "6", "--max-minutes", "0",
            "--batch-size", "32", "--image-size", "16", "--workers", "1");
        Assert.True(code == 0, screen);
        Assert.Contains("\u001b[", screen);
        Assert.Contains("step 6/6", screen);
        Assert.Contains("samples/s", screen);
        Assert.DoesNotContain("info: ", screen);          // no logger category noise
        Assert.DoesNotContain("Contrastive.Host.TrainingService", screen);

        // The same command with stderr captured (not a terminal): plain log lines, no escape sequences.
        var (plainCode, _, err) = await CliRunner.Run("train", "--data", data, "--out", Path.Combine(Folder, "run2"), "--max-steps", "2", "--max-minutes", "0",
            "--batch-size", "32", "--image-size", "16", "--workers", "1");
        Assert.True(plainCode == 0, err);
        Assert.DoesNotContain("\u001b[", err);
        Assert.Matches(@"\d\d:\d\d:\d\d Training simclr", err);
    }
}
