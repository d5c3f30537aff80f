using System.Diagnostics;

namespace Contrastive.Host.Tests;

/// <summary>The C# sample in samples/QuickStart, built with the solution, runs as a library user would run it.</summary>
public sealed class SampleTests() : TempFolderTest("sample")
{
    [Fact]
    public async Task The_quickstart_sample_trains_and_reports_knn_for_trained_and_random_init()
    {
        string data = Path.Combine(Folder, "demo");
        var (code, _, err) = await CliRunner.Run("demo-data", "--output", data, "--count", "300", "--width", "40", "--height", "40");
        Assert.True(code == 0, err);
        // tests/Host.Tests/bin/<Configuration>/net10.0/ -> samples/QuickStart/bin/<Configuration>/net10.0/
        var testDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string configuration = testDir.Parent!.Name, root = testDir.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
        string dll = Path.Combine(root, "samples", "QuickStart", "bin", configuration, "net10.0", "Contrastive.QuickStart.dll");
        Assert.True(File.Exists(dll), $"the sample was not built: {dll}");

        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { dll, data, "8", Path.Combine(Folder, "run") }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        try
        {
            await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        }
        finally
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
        }
        string output = await stdout;
        Assert.True(p.ExitCode == 0, $"exit {p.ExitCode}: {output}\n{await stderr}");
        Assert.Contains("trained 8 steps", output);
        Assert.Matches(@"kNN top-1 trained: [01]\.\d{4}", output);
        Assert.Matches(@"kNN top-1 random-init: [01]\.\d{4}", output);
        Assert.True(File.Exists(Path.Combine(Folder, "run", "ckpt-000000008.ckpt")), output);
    }
}
