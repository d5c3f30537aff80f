using System.Diagnostics;

namespace Contrastive.Host.Tests;

/// <summary>
/// Debian's headless Chromium (installed by test.sh), driven by its own command line: the DOM after scripts ran, and
/// screenshots. Every call is bounded in time; the browser runs as root only with --no-sandbox.
/// </summary>
internal static class Chromium
{
    public static string Executable =>
        new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("headless Chromium is not installed: apt-get install chromium (test.sh does)");

    /// <summary>The serialised DOM of <paramref name="url"/> after its scripts ran for <paramref name="virtualTimeMs"/> of virtual time.</summary>
    public static async Task<string> DumpDom(string url, int virtualTimeMs = 3000, int timeoutSeconds = 60)
    {
        var (code, stdout, stderr) = await Run(timeoutSeconds, $"--virtual-time-budget={virtualTimeMs}", "--dump-dom", url);
        if (code != 0) throw new InvalidOperationException($"chromium --dump-dom {url} exited {code}: {stderr}");
        return stdout;
    }

    /// <summary>Writes a PNG of <paramref name="url"/> at the given window size and returns its path.</summary>
    public static async Task<string> Screenshot(string url, string png, int width = 1280, int height = 900, int virtualTimeMs = 3000, int timeoutSeconds = 60)
    {
        File.Delete(png);
        var (code, _, stderr) = await Run(timeoutSeconds, $"--virtual-time-budget={virtualTimeMs}", $"--screenshot={png}",
            $"--window-size={width},{height}", "--hide-scrollbars", url);
        if (code != 0 || !File.Exists(png)) throw new InvalidOperationException($"chromium --screenshot {url} exited {code}: {stderr}");
        return png;
    }

    private static async Task<(int, string, string)> Run(int timeoutSeconds, params string[] args)
    {
        var psi = new ProcessStartInfo(Executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        string profile = Path.Combine(Path.GetTempPath(), "cp-chromium-" + Guid.NewGuid().ToString("N"));
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
                     "--disable-extensions", "--disable-background-networking", $"--user-data-dir={profile}" }.Concat(args))
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        try { await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(timeoutSeconds)); }
        catch (TimeoutException) { p.Kill(entireProcessTree: true); throw new TimeoutException($"chromium {string.Join(' ', args)} did not finish in {timeoutSeconds} s"); }
        finally { try { Directory.Delete(profile, recursive: true); } catch (IOException) { } }
        return (p.ExitCode, await stdout, await stderr);
    }
}
