using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Contrastive.Host.Tests;

/// <summary>Operating `contrastive serve`: systemd notifications on a NOTIFY_SOCKET the test binds, and JSON console logs.</summary>
public sealed class ServeOperationsTests() : TempFolderTest("serveops")
{
    [Fact]
    public async Task Under_systemd_the_service_sends_ready_then_stopping_on_sigterm_to_the_notify_socket()
    {
        // Microsoft.Extensions.Hosting.Systemd counts a process as a systemd service when its parent is named "systemd":
        // a copy of /bin/sh under that name starts the service and waits for it.
        string shell = Path.Combine(Folder, "systemd");
        File.Copy("/bin/sh", shell);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(shell, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        string socketPath = Path.Combine(Folder, "notify.sock");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));
        Directory.CreateDirectory(Path.Combine(Folder, "data"));
        int port = ServeProcess.FreePort();

        using var p = ContrastiveProcess.StartUnderShell(shell, new Dictionary<string, string> { ["NOTIFY_SOCKET"] = socketPath },
            "serve", "--urls", $"http://127.0.0.1:{port}", "--state", Path.Combine(Folder, "state"), "--data-root", Path.Combine(Folder, "data"));
        Assert.Equal("READY=1", await Receive(socket, p));
        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) })
            Assert.Equal("ready\n", await http.GetStringAsync($"http://127.0.0.1:{port}/readyz"));

        int service = Assert.Single(p.Children());
        using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", service.ToString(System.Globalization.CultureInfo.InvariantCulture)])!)
            await kill.WaitForExitAsync();
        Assert.Equal("STOPPING=1", await Receive(socket, p));
        Assert.Equal(0, await p.WaitForExit(TimeSpan.FromMinutes(1)));
        // Text logs take the journal's format under systemd: a priority prefix, no timestamp of their own.
        Assert.Contains("<6>Contrastive.Serve[0] State ", p.Out);
    }

    private static async Task<string> Receive(Socket socket, ContrastiveProcess p)
    {
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        try
        {
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            return Encoding.UTF8.GetString(buffer, 0, n).Trim();
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no notification within a minute: {p.Err}{p.Out}");
        }
    }

    [Fact]
    public async Task Json_logs_are_one_json_object_a_line_and_name_the_service_state()
    {
        Directory.CreateDirectory(Path.Combine(Folder, "data"));
        using var s = await ServeProcess.Start(Path.Combine(Folder, "state"), Path.Combine(Folder, "data"), extra: ["--json-logs"]);
        await s.Process.Terminate();
        Assert.Equal(0, await s.Process.WaitForExit(TimeSpan.FromMinutes(1)));
        var lines = s.Process.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length >= 3, s.Process.Out);
        var entries = lines.Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.All(entries, e => Assert.True(e.TryGetProperty("Timestamp", out _) && e.TryGetProperty("LogLevel", out _) && e.TryGetProperty("Category", out _)));
        Assert.Contains(entries, e => e.GetProperty("Category").GetString() == "Contrastive.Serve" && e.GetProperty("Message").GetString()!.StartsWith("State ", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.GetProperty("Message").GetString()!.StartsWith("Now listening on: http://127.0.0.1:", StringComparison.Ordinal));
    }
}
