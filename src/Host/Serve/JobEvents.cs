using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Contrastive.Host.Serve;

/// <summary>
/// GET /api/jobs/ID/events: a job's live updates as Server-Sent Events, so a page or a script follows a job with one
/// request instead of polling. Events: <c>job</c> (the job's view, whenever it changes: figures each status window, state
/// changes), <c>metrics</c> (a JSON array of the new metrics.jsonl rows), <c>log</c> (the log's last 200 lines, then its new
/// lines, one <c>data:</c> line each) and <c>end</c> once the job has ended and everything was sent. The service reads the job's files
/// twice a second; a comment line every 15 s keeps proxies from closing an idle stream.
/// </summary>
internal static class JobEvents
{
    private static readonly TimeSpan Every = TimeSpan.FromMilliseconds(500), KeepAlive = TimeSpan.FromSeconds(15);

    public static async Task StreamAsync(HttpContext ctx, JobRecord first, JobStore store, ServeState state, JobRunner runner)
    {
        var aborted = ctx.RequestAborted;
        ctx.Response.ContentType = "text/event-stream; charset=utf-8";
        ctx.Response.Headers.CacheControl = "no-cache";
        ctx.Response.Headers["X-Accel-Buffering"] = "no"; // nginx: pass each event on at once
        string folder = state.JobFolder(first.Id);
        var metrics = new FileTail(Path.Combine(folder, "metrics.jsonl"));
        var log = new FileTail(state.JobLog(first.Id), firstLines: 200);
        string? lastView = null;
        var idle = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            while (!aborted.IsCancellationRequested)
            {
                if (store.Get(first.Id) is not { } job) break;
                bool sent = false;
                string view = JsonSerializer.Serialize(ServeApp.View(job, state, runner), JsonSerializerOptions.Web);
                if (view != lastView)
                {
                    await Send(ctx, "job", view, aborted).ConfigureAwait(false);
                    lastView = view;
                    sent = true;
                }
                var rows = new JsonArray();
                foreach (var line in metrics.ReadLines())
                {
                    try { if (JsonNode.Parse(line) is JsonObject row && row.ContainsKey("step")) rows.Add(row); }
                    catch (JsonException) { } // a line cut by a kill
                }
                if (rows.Count > 0)
                {
                    await Send(ctx, "metrics", rows.ToJsonString(), aborted).ConfigureAwait(false);
                    sent = true;
                }
                var lines = log.ReadLines();
                if (lines.Count > 0)
                {
                    await Send(ctx, "log", string.Join('\n', lines), aborted).ConfigureAwait(false);
                    sent = true;
                }
                if (JobStates.IsFinal(job.State) && !sent)
                {
                    await Send(ctx, "end", job.State, aborted).ConfigureAwait(false);
                    break;
                }
                if (sent) idle.Restart();
                else if (idle.Elapsed > KeepAlive)
                {
                    await ctx.Response.WriteAsync(": keep-alive\n\n", aborted).ConfigureAwait(false);
                    await ctx.Response.Body.FlushAsync(aborted).ConfigureAwait(false);
                    idle.Restart();
                }
                await Task.Delay(Every, aborted).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested) { } // the client went away
    }

    /// <summary>One event: its name and its text, each line of which becomes a <c>data:</c> line.</summary>
    private static async Task Send(HttpContext ctx, string name, string text, CancellationToken ct)
    {
        var sb = new StringBuilder("event: ").Append(name).Append('\n');
        foreach (var line in text.Split('\n')) sb.Append("data: ").Append(line.TrimEnd('\r')).Append('\n');
        sb.Append('\n');
        await ctx.Response.WriteAsync(sb.ToString(), ct).ConfigureAwait(false);
        await ctx.Response.Body.FlushAsync(ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The complete lines added to a file since the last read: the first read gives the whole file, or with
    /// <paramref name="firstLines"/> only its last lines (read from at most its last MB); a file cut shorter is read again from
    /// its start.
    /// </summary>
    private sealed class FileTail(string path, int? firstLines = null)
    {
        private const long TailBytes = 1 << 20;
        private long _offset = firstLines is null ? 0 : Math.Max(0, Length(path) - TailBytes);
        private bool _first = true;

        public List<string> ReadLines()
        {
            var lines = new List<string>();
            bool first = _first;
            _first = false;
            long length = Length(path);
            if (length < _offset) _offset = 0; // truncated (a resume drops the rows after its checkpoint)
            if (length == _offset) return lines;
            try
            {
                using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                long start = _offset;
                fs.Seek(start, SeekOrigin.Begin);
                var bytes = new byte[Math.Min(length - start, 4 << 20)];
                int n = fs.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
                int end = Array.LastIndexOf(bytes, (byte)'\n', n - 1);
                if (end < 0) return lines; // no complete line yet
                _offset += end + 1;
                lines.AddRange(Encoding.UTF8.GetString(bytes, 0, end).Split('\n'));
                if (first && firstLines is { } last)
                {
                    if (start > 0) lines.RemoveAt(0); // cut by where the read began
                    if (lines.Count > last) lines.RemoveRange(0, lines.Count - last);
                }
            }
            catch (IOException) { }
            return lines;
        }

        private static long Length(string path)
        {
            try { return new FileInfo(path).Length; }
            catch (IOException) { return 0; }
        }
    }
}
