using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Contrastive.Host.Tests;

/// <summary>
/// A real `contrastive serve` process on a free loopback port with a state directory, and an HTTP client for it. Every wait
/// polls a bounded number of times within a time limit.
/// </summary>
internal sealed class ServeProcess : IDisposable
{
    private ServeProcess(ContrastiveProcess process, int port, string? key)
    {
        Process = process;
        Port = port;
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        if (key is not null) Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
    }

    public ContrastiveProcess Process { get; }

    public int Port { get; }

    public HttpClient Http { get; }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>Starts the service and waits until /readyz answers 200.</summary>
    public static async Task<ServeProcess> Start(string state, string dataRoot, int? port = null, string? key = null, IDictionary<string, string>? env = null,
        params string[] extra)
    {
        int p = port ?? FreePort();
        var process = ContrastiveProcess.Start(env, ["serve", "--urls", $"http://127.0.0.1:{p}", "--state", state, "--data-root", dataRoot, .. extra]);
        var s = new ServeProcess(process, p, key);
        try
        {
            await s.WaitReady(TimeSpan.FromMinutes(1));
            return s;
        }
        catch
        {
            s.Dispose();
            throw;
        }
    }

    public async Task WaitReady(TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        for (int i = 0; i < 600 && DateTime.UtcNow < until; i++)
        {
            if (Process.HasExited) throw new InvalidOperationException($"serve exited ({Process.ExitCode}) before it was ready: {Process.Err}{Process.Out}");
            try
            {
                using var r = await Http.GetAsync("/readyz");
                if (r.StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException) { }
            await Task.Delay(200);
        }
        throw new TimeoutException($"serve not ready within {timeout.TotalSeconds:F0} s: {Process.Err}{Process.Out}");
    }

    /// <summary>POSTs a spec; returns the status and the JSON answer.</summary>
    public async Task<(HttpStatusCode Status, JsonElement Body)> Submit(string specJson)
    {
        using var r = await Http.PostAsync("/api/jobs", new StringContent(specJson, Encoding.UTF8, "application/json"));
        return (r.StatusCode, await Json(r));
    }

    public async Task<JsonElement> Job(string id)
    {
        using var r = await Http.GetAsync($"/api/jobs/{id}");
        Assert.True(r.IsSuccessStatusCode, $"GET /api/jobs/{id}: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
        return await Json(r);
    }

    /// <summary>Polls the job until <paramref name="done"/> holds (every 250 ms, within <paramref name="timeout"/>); returns the last view.</summary>
    public async Task<JsonElement> WaitFor(string id, Func<JsonElement, bool> done, TimeSpan timeout, string what)
    {
        var until = DateTime.UtcNow + timeout;
        JsonElement last = default;
        for (int i = 0; i < 2000 && DateTime.UtcNow < until; i++)
        {
            last = await Job(id);
            if (done(last)) return last;
            await Task.Delay(250);
        }
        throw new TimeoutException($"job {id}: not {what} within {timeout.TotalSeconds:F0} s; last: {last}; server: {Process.Err}{Process.Out}");
    }

    public Task<JsonElement> WaitForState(string id, string state, TimeSpan timeout) =>
        WaitFor(id, j => j.GetProperty("state").GetString() == state, timeout, state);

    public static async Task<JsonElement> Json(HttpResponseMessage r)
    {
        string text = await r.Content.ReadAsStringAsync();
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    public void Dispose()
    {
        Http.Dispose();
        Process.Dispose();
    }
}
