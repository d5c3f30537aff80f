using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Contrastive.Host.Tests;

/// <summary>
/// One page open in Debian's headless Chromium, driven over the DevTools protocol (a WebSocket on loopback): the page keeps
/// running between looks, so a test sees it change in real time (an event stream) and asks it what it did (its resource
/// timing entries: every request it made). Every call is bounded in time; disposing closes the browser.
/// </summary>
internal sealed class ChromiumPage : IAsyncDisposable
{
    private readonly Process _browser;
    private readonly ClientWebSocket _socket = new();
    private readonly string _profile;
    private string _session = "";
    private int _next;

    private ChromiumPage(Process browser, string profile)
    {
        _browser = browser;
        _profile = profile;
    }

    public static async Task<ChromiumPage> Open(string url, int width = 1280, int height = 1100)
    {
        string profile = Path.Combine(Path.GetTempPath(), "cp-chromium-" + Guid.NewGuid().ToString("N"));
        var psi = new ProcessStartInfo(Chromium.Executable) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage", "--disable-extensions",
                     "--disable-background-networking", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", $"--window-size={width},{height}",
                     $"--user-data-dir={profile}", "about:blank" })
            psi.ArgumentList.Add(a);
        var page = new ChromiumPage(Process.Start(psi)!, profile);
        try
        {
            string? endpoint = null;
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (endpoint is null && DateTime.UtcNow < until)
            {
                string? line = await page._browser.StandardError.ReadLineAsync().WaitAsync(until - DateTime.UtcNow);
                if (line is null) throw new InvalidOperationException("chromium exited before it listened for DevTools");
                int at = line.IndexOf("ws://", StringComparison.Ordinal);
                if (line.StartsWith("DevTools listening on", StringComparison.Ordinal) && at >= 0) endpoint = line[at..].Trim();
            }
            if (endpoint is null) throw new TimeoutException("chromium did not listen for DevTools within 60 s");
            _ = page._browser.StandardError.ReadToEndAsync(); // keep draining
            await page._socket.ConnectAsync(new Uri(endpoint), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
            string target = (await page.Call("Target.createTarget", new JsonObject { ["url"] = "about:blank" }, browser: true))["targetId"]!.GetValue<string>();
            page._session = (await page.Call("Target.attachToTarget", new JsonObject { ["targetId"] = target, ["flatten"] = true }, browser: true))["sessionId"]!.GetValue<string>();
            await page.Call("Page.navigate", new JsonObject { ["url"] = url });
            return page;
        }
        catch
        {
            await page.DisposeAsync();
            throw;
        }
    }

    /// <summary>The value of a JavaScript expression in the page (promises awaited).</summary>
    public async Task<JsonNode?> Evaluate(string expression)
    {
        var r = await Call("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true, ["awaitPromise"] = true });
        if (r["exceptionDetails"] is { } error) throw new InvalidOperationException($"{expression}: {error.ToJsonString()}");
        return r["result"]?["value"];
    }

    /// <summary>Polls <paramref name="expression"/> every 250 ms until it is true, within <paramref name="timeout"/>.</summary>
    public async Task WaitFor(string expression, TimeSpan timeout, string what)
    {
        var until = DateTime.UtcNow + timeout;
        for (int i = 0; i < 4000 && DateTime.UtcNow < until; i++)
        {
            try { if ((await Evaluate(expression))?.GetValue<bool>() == true) return; }
            catch (InvalidOperationException) { } // the page is still loading
            await Task.Delay(250);
        }
        throw new TimeoutException($"the page: not {what} within {timeout.TotalSeconds:F0} s; {await Evaluate("document.body ? document.body.innerText.slice(0, 2000) : ''")}");
    }

    /// <summary>A PNG of the page as it is now.</summary>
    public async Task Screenshot(string png) =>
        await File.WriteAllBytesAsync(png, Convert.FromBase64String((await Call("Page.captureScreenshot", new JsonObject { ["format"] = "png" }))["data"]!.GetValue<string>()));

    private async Task<JsonNode> Call(string method, JsonObject parameters, bool browser = false)
    {
        int id = ++_next;
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters };
        if (!browser) message["sessionId"] = _session;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await _socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, timeout.Token);
        var buffer = new byte[1 << 16];
        for (int n = 0; n < 100_000; n++)
        {
            using var ms = new MemoryStream();
            WebSocketReceiveResult r;
            do
            {
                r = await _socket.ReceiveAsync(buffer, timeout.Token);
                ms.Write(buffer, 0, r.Count);
            } while (!r.EndOfMessage);
            var reply = JsonNode.Parse(ms.ToArray())!;
            if (reply["id"]?.GetValue<int>() != id) continue; // an event, or an earlier call's answer
            if (reply["error"] is { } error) throw new InvalidOperationException($"{method}: {error.ToJsonString()}");
            return reply["result"]!;
        }
        throw new InvalidOperationException($"{method}: no answer");
    }

    public async ValueTask DisposeAsync()
    {
        try { if (_socket.State == WebSocketState.Open) await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5)); }
        catch (Exception e) when (e is WebSocketException or TimeoutException) { }
        _socket.Dispose();
        try { _browser.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        await _browser.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        _browser.Dispose();
        try { Directory.Delete(_profile, recursive: true); } catch (IOException) { }
    }
}
