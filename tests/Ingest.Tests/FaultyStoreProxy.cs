using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Contrastive.Ingest.Tests;

/// <summary>
/// A misbehaving S3 endpoint: a loopback HTTP/1.1 proxy in front of s3rver that forwards each request (one per
/// connection; its Host header kept, so the request's signature still holds) after an added latency, and by the
/// request's number answers some with a fault instead: 503 SlowDown (S3's throttling error), a connection reset in the
/// middle of a body, a body cut short (the connection closed cleanly before Content-Length bytes), or a stall longer
/// than the client's request timeout. The pattern is fixed, so every fault happens in any run of enough requests.
/// </summary>
internal sealed class FaultyStoreProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly HttpClient _upstream;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private long _requests;
    private long _slowDowns, _resets, _cuts, _stalls;

    /// <param name="upstreamPort">s3rver's port.</param>
    /// <param name="latency">Added to every request before it is forwarded.</param>
    /// <param name="stall">How long a stalled request waits before it is answered (longer than the client's timeout).</param>
    public FaultyStoreProxy(int upstreamPort, TimeSpan latency, TimeSpan stall)
    {
        Latency = latency;
        Stall = stall;
        _upstream = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, AutomaticDecompression = DecompressionMethods.None })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{upstreamPort}"),
        };
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = Task.Run(AcceptAsync);
    }

    public int Port { get; }

    public TimeSpan Latency { get; }

    public TimeSpan Stall { get; }

    /// <summary>Requests received, and the faults answered.</summary>
    public long Requests => Interlocked.Read(ref _requests);
    public long SlowDowns => Interlocked.Read(ref _slowDowns);
    public long Resets => Interlocked.Read(ref _resets);
    public long Cuts => Interlocked.Read(ref _cuts);
    public long Stalls => Interlocked.Read(ref _stalls);

    public long Faults => SlowDowns + Resets + Cuts + Stalls;

    private enum Fault { None, SlowDown, Reset, Cut, Stall }

    /// <summary>The fault for request number <paramref name="n"/> (from 1): 5 % SlowDown, 2 % resets and 1 % cuts of GET bodies, 1 % stalls.</summary>
    private static Fault FaultFor(long n, bool hasBody) => (n % 100) switch
    {
        7 or 27 or 47 or 67 or 87 => Fault.SlowDown,
        13 or 63 when hasBody => Fault.Reset,
        41 when hasBody => Fault.Cut,
        91 => Fault.Stall,
        _ => Fault.None,
    };

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception) when (_stop.IsCancellationRequested) { return; }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        var stream = client.GetStream();
        try
        {
            var (method, target, headers, body) = await ReadRequestAsync(stream);
            long n = Interlocked.Increment(ref _requests);
            await Task.Delay(Latency, _stop.Token);
            var fault = FaultFor(n, method == "GET");
            if (fault == Fault.SlowDown)
            {
                Interlocked.Increment(ref _slowDowns);
                byte[] xml = Encoding.UTF8.GetBytes("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>");
                await WriteHeadAsync(stream, 503, "Slow Down", [("Content-Type", "application/xml")], xml.Length);
                if (method != "HEAD") await stream.WriteAsync(xml);
                return;
            }
            if (fault == Fault.Stall)
            {
                Interlocked.Increment(ref _stalls);
                await Task.Delay(Stall, _stop.Token); // the client has given up by now; it gets nothing
                return;
            }
            using var request = new HttpRequestMessage(new HttpMethod(method), target);
            if (body.Length > 0) request.Content = new ByteArrayContent(body);
            foreach (var (name, value) in headers)
            {
                if (name.Equals("Host", StringComparison.OrdinalIgnoreCase)) { request.Headers.Host = value; continue; }
                if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase) || name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
                    || name.Equals("Expect", StringComparison.OrdinalIgnoreCase)) continue;
                if (!request.Headers.TryAddWithoutValidation(name, value)) request.Content?.Headers.TryAddWithoutValidation(name, value);
            }
            using var response = await _upstream.SendAsync(request, HttpCompletionOption.ResponseContentRead, _stop.Token);
            byte[] content = await response.Content.ReadAsByteArrayAsync(_stop.Token);
            var outHeaders = response.Headers.Concat(response.Content.Headers)
                .Where(h => h.Key is not ("Content-Length" or "Transfer-Encoding" or "Connection"))
                .SelectMany(h => h.Value.Select(v => (h.Key, v))).ToList();
            long length = method == "HEAD" ? response.Content.Headers.ContentLength ?? 0 : content.Length;
            await WriteHeadAsync(stream, (int)response.StatusCode, response.ReasonPhrase ?? "", outHeaders, length);
            if (method == "HEAD") return;
            if (fault is Fault.Reset or Fault.Cut && content.Length > 1)
            {
                await stream.WriteAsync(content.AsMemory(0, content.Length / 2));
                await stream.FlushAsync();
                if (fault == Fault.Reset)
                {
                    Interlocked.Increment(ref _resets);
                    client.Client.LingerState = new LingerOption(true, 0); // close with RST
                }
                else Interlocked.Increment(ref _cuts); // a clean close, Content-Length bytes never sent
                return;
            }
            await stream.WriteAsync(content);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or HttpRequestException)
        {
            // The client went away (after its timeout) or the test ended.
        }
    }

    private static async Task WriteHeadAsync(NetworkStream stream, int status, string reason, IEnumerable<(string Name, string Value)> headers, long length)
    {
        var head = new StringBuilder();
        head.Append(CultureInfoInvariant($"HTTP/1.1 {status} {reason}\r\n"));
        foreach (var (name, value) in headers) head.Append(name).Append(": ").Append(value).Append("\r\n");
        head.Append(CultureInfoInvariant($"Content-Length: {length}\r\nConnection: close\r\n\r\n"));
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()));
    }

    private static string CultureInfoInvariant(FormattableString s) => s.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>One request: its line, headers and Content-Length body.</summary>
    private static async Task<(string Method, string Target, List<(string, string)> Headers, byte[] Body)> ReadRequestAsync(NetworkStream stream)
    {
        var buffer = new List<byte>(4096);
        var one = new byte[1];
        while (buffer.Count < 4 || !(buffer[^4] == '\r' && buffer[^3] == '\n' && buffer[^2] == '\r' && buffer[^1] == '\n'))
        {
            if (await stream.ReadAsync(one) == 0) throw new IOException("the client closed before a whole request");
            buffer.Add(one[0]);
            if (buffer.Count > 64 * 1024) throw new IOException("request head too long");
        }
        var lines = Encoding.ASCII.GetString(buffer.ToArray()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var first = lines[0].Split(' ');
        var headers = lines.Skip(1).Select(l => (l[..l.IndexOf(':')].Trim(), l[(l.IndexOf(':') + 1)..].Trim())).ToList();
        long length = headers.Where(h => h.Item1.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)).Select(h => long.Parse(h.Item2, System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault();
        var body = new byte[length];
        await stream.ReadExactlyAsync(body);
        return (first[0], first[1], headers, body);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        try { await _accepting; } catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { }
        _upstream.Dispose();
        _stop.Dispose();
    }
}
