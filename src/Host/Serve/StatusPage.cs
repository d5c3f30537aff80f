using Contrastive.Host.Assets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Contrastive.Host.Serve;

/// <summary>
/// The status page: the job list at /, a job's page at /jobs/ID with live charts (loss, learning rate, images/s and
/// starvation against step; evaluation points), its figures, state and log tail. The list polls the API every 2 s; a job page listens to the job's event stream (/api/jobs/ID/events). Self-contained:
/// the chart library (uPlot, vendored and embedded) is served from /assets, nothing is fetched from elsewhere. The loss
/// chart's element carries data-points, the number of points drawn.
/// </summary>
internal static class StatusPage
{
    public static void Map(WebApplication app)
    {
        string script = HostAssets.ReadText(HostAssets.UPlotScript), style = HostAssets.ReadText(HostAssets.UPlotStyle);
        app.MapGet("/assets/uplot.js", () => Results.Text(script, "text/javascript; charset=utf-8"));
        app.MapGet("/assets/uplot.css", () => Results.Text(style, "text/css; charset=utf-8"));
        app.MapGet("/", () => Results.Content(Html, "text/html; charset=utf-8"));
        app.MapGet("/jobs/{id}", (string id) => JobStore.IsWellFormed(id)
            ? Results.Content(Html, "text/html; charset=utf-8")
            : Results.Problem(statusCode: 404, title: "No such job", detail: $"'{id}' is not a job id of this server"));
    }

    private const string Html = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>contrastive serve</title>
        <link rel="stylesheet" href="/assets/uplot.css">
        <style>
          body { font: 14px/1.4 system-ui, sans-serif; margin: 16px 24px; color: #222; background: #fafafa; }
          h1 { font-size: 20px; margin: 0 0 12px; } h1 a { color: inherit; text-decoration: none; }
          table { border-collapse: collapse; background: #fff; }
          th, td { padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: left; white-space: nowrap; }
          th { background: #f0f0f0; font-weight: 600; }
          td.num { text-align: right; font-variant-numeric: tabular-nums; }
          .state { padding: 1px 8px; border-radius: 9px; font-size: 12px; color: #fff; background: #888; }
          .state.running { background: #1f6feb; } .state.succeeded { background: #2da44e; } .state.failed { background: #cf222e; }
          .state.cancelled { background: #6e7781; } .state.interrupted { background: #bf8700; } .state.queued { background: #8250df; }
          .figures { display: flex; flex-wrap: wrap; gap: 8px 24px; margin: 8px 0 16px; }
          .figures div b { display: block; font-size: 12px; color: #666; font-weight: 500; }
          .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 12px; }
          .chart { background: #fff; border: 1px solid #ddd; padding: 6px; }
          pre { background: #111; color: #ddd; padding: 10px; max-height: 320px; overflow: auto; font-size: 12px; }
          .error { color: #cf222e; } .muted { color: #666; }
          button { font: inherit; padding: 3px 12px; }
          #auth { display: none; margin: 8px 0; }
        </style>
        </head>
        <body>
        <h1><a href="/">contrastive serve</a> <span id="title" class="muted"></span></h1>
        <div id="auth">This server needs an API key: <input id="key" type="password" size="40"> <button id="save-key">Use key</button></div>
        <div id="main"></div>
        <script src="/assets/uplot.js"></script>
        <script>
        "use strict";
        const main = document.getElementById("main");
        const jobId = (location.pathname.match(/^\/jobs\/([a-z0-9-]+)$/) || [])[1];
        const fmt = (v, d) => v === null || v === undefined ? "–" : (typeof v === "number" ? (Math.abs(v) >= 1000 || d === 0 ? v.toFixed(0) : v.toPrecision(d || 4)) : String(v));
        const esc = s => String(s ?? "").replace(/[&<>"]/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
        const duration = s => s === null || s === undefined ? "–" : s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor(s % 3600 / 60)).padStart(2, "0")}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, "0")}s` : `${Math.round(s)}s`;

        async function api(path, opts) {
          const headers = {};
          const key = sessionStorage.getItem("contrastive-key");
          if (key) headers["Authorization"] = "Bearer " + key;
          const r = await fetch(path, Object.assign({ headers }, opts || {}));
          if (r.status === 401) { document.getElementById("auth").style.display = "block"; throw new Error("unauthorized"); }
          if (!r.ok) throw new Error(path + ": " + r.status);
          return (r.headers.get("content-type") || "").includes("json") ? r.json() : r.text();
        }
        document.getElementById("save-key").onclick = () => { sessionStorage.setItem("contrastive-key", document.getElementById("key").value.trim()); location.reload(); };

        // ---- the job list ----
        async function listLoop() {
          document.title = "jobs · contrastive serve";
          try {
            const jobs = await api("/api/jobs");
            main.dataset.jobs = jobs.length;
            main.innerHTML = jobs.length === 0 ? '<p class="muted">No jobs yet: POST a spec to /api/jobs.</p>' :
              `<table id="jobs"><tr><th>job</th><th>state</th><th>method</th><th>data</th><th>step</th><th>loss</th><th>images/s</th><th>starvation</th><th>ETA</th><th>restarts</th><th>created</th></tr>` +
              jobs.map(j => `<tr><td><a href="/jobs/${esc(j.id)}">${esc(j.id)}</a></td><td><span class="state ${esc(j.state)}">${esc(j.state)}</span></td>` +
                `<td>${esc(j.method)}</td><td>${esc(j.data)}</td><td class="num">${j.step}${j.max_steps ? " / " + j.max_steps : ""}</td>` +
                `<td class="num">${fmt(j.loss)}</td><td class="num">${fmt(j.images_per_sec, 0)}</td><td class="num">${j.starvation == null ? "–" : (100 * j.starvation).toFixed(0) + "%"}</td>` +
                `<td class="num">${duration(j.eta_seconds)}</td><td class="num">${j.restarts}</td><td>${esc(new Date(j.created).toISOString().replace("T", " ").slice(0, 19))}</td></tr>`).join("") + "</table>";
          } catch (e) { if (e.message !== "unauthorized") main.innerHTML = `<p class="error">${esc(e.message)}</p>`; }
          setTimeout(listLoop, 2000);
        }

        // ---- one job ----
        const rows = new Map(); // step -> merged metrics row
        const charts = {};
        const series = [
          { key: "train/loss", title: "loss", color: "#cf222e" },
          { key: "train/lr", title: "learning rate", color: "#8250df" },
          { key: "train/samples_per_sec", title: "images/s", color: "#1f6feb" },
          { key: "pipeline/starvation", title: "starvation (share of time waiting for data)", color: "#bf8700" },
          { key: "eval/online_knn_top1", title: "online kNN top-1 (held-out images)", color: "#1a7f37", points: true },
        ];
        const tick = v => v === 0 ? "0" : Math.abs(v) < 0.01 ? v.toExponential(1) : String(+v.toPrecision(3));
        function jobSkeleton() {
          document.title = jobId + " · contrastive serve";
          document.getElementById("title").textContent = "· " + jobId;
          main.innerHTML = `<div><span id="state" class="state">…</span> <button id="cancel">Cancel</button> <span id="error" class="error"></span></div>
            <div class="figures" id="figures"></div>
            <div class="charts">${series.map((s, i) => `<div class="chart" id="chart-${i}" data-points="0"></div>`).join("")}</div>
            <h3>Evaluation</h3><div id="evals" class="muted">none yet</div>
            <h3>Log</h3><pre id="log"></pre>`;
          document.getElementById("cancel").onclick = async () => { try { await api(`/api/jobs/${jobId}/cancel`, { method: "POST" }); } catch (e) { document.getElementById("error").textContent = e.message; } };
          series.forEach((s, i) => {
            const el = document.getElementById("chart-" + i);
            charts[s.key] = new uPlot({
              title: s.title, width: Math.max(520, el.clientWidth - 12), height: 240,
              scales: { x: { time: false } },
              axes: [{ label: "step" }, { size: 64, values: (u, vals) => vals.map(tick) }],
              // Points: always for evaluations; for the other series uPlot's default, which marks them where they are sparse
              // (a short job's one images/s point would otherwise be a line of no length, not drawn).
              series: [{ label: "step" }, { label: s.title, stroke: s.color, width: 1.5, points: s.points ? { show: true, size: 6, fill: s.color } : { size: 6, fill: s.color } }],
            }, [[], []], el);
          });
        }
        function draw() {
          const steps = [...rows.keys()].sort((a, b) => a - b);
          series.forEach((s, i) => {
            const xs = [], ys = [];
            for (const st of steps) { const v = rows.get(st)[s.key]; if (typeof v === "number") { xs.push(st); ys.push(v); } }
            charts[s.key].setData([xs, ys]);
            document.getElementById("chart-" + i).dataset.points = xs.length;
          });
          const evals = steps.flatMap(st => Object.entries(rows.get(st)).filter(([k]) => k.startsWith("eval/") && k !== "eval/online_knn_top1").map(([k, v]) => [st, k, v]));
          if (evals.length) document.getElementById("evals").innerHTML = `<table><tr><th>step</th><th>figure</th><th>value</th></tr>` +
            evals.map(([st, k, v]) => `<tr><td class="num">${st}</td><td>${esc(k)}</td><td class="num">${fmt(v)}</td></tr>`).join("") + "</table>";
        }
        // The job page listens to the job's event stream (GET /api/jobs/ID/events): no polling. fetch, not EventSource, since
        // EventSource cannot send the Authorization header.
        function showJob(j) {
          const st = document.getElementById("state");
          st.textContent = j.state; st.className = "state " + j.state;
          document.getElementById("cancel").disabled = ["succeeded", "failed", "cancelled"].includes(j.state);
          document.getElementById("error").textContent = j.error || "";
          const r = j.result || {};
          const figs = [["step", j.step + (j.max_steps ? " / " + j.max_steps : "")], ["loss", fmt(j.loss)], ["learning rate", fmt(j.lr, 3)],
            ["images/s", fmt(j.images_per_sec, 0)], ["starvation", j.starvation == null ? "–" : (100 * j.starvation).toFixed(0) + "%"], ["ETA", duration(j.eta_seconds)],
            ["restarts", j.restarts], ["processes", j.processes], ["priority", j.priority], ["method", j.method], ["data", j.data],
            ["checkpoint", j.checkpoint ? j.checkpoint.split("/").pop() : "–"]];
          if (r.knn_top1 != null) figs.push(["kNN top-1 (random init)", `${fmt(r.knn_top1, 3)} (${fmt(r.knn_top1_random_init, 3)})`]);
          if (r.resumed_from_step != null) figs.push(["resumed from step", r.resumed_from_step]);
          document.getElementById("figures").innerHTML = figs.map(([k, v]) => `<div><b>${esc(k)}</b>${esc(v)}</div>`).join("");
        }
        const logLines = [];
        function appendLog(text) {
          const log = document.getElementById("log");
          const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
          logLines.push(...text.split("\n"));
          if (logLines.length > 500) logLines.splice(0, logLines.length - 500);
          log.textContent = logLines.join("\n");
          if (atEnd) log.scrollTop = log.scrollHeight;
        }
        function onEvent(name, text) {
          if (name === "job") showJob(JSON.parse(text));
          else if (name === "metrics") { for (const row of JSON.parse(text)) rows.set(row.step, Object.assign(rows.get(row.step) || {}, row)); draw(); }
          else if (name === "log") appendLog(text);
          else if (name === "end") ended = true;
          main.dataset.events = +(main.dataset.events || 0) + 1;
        }
        let ended = false;
        async function listen() {
          const headers = {};
          const key = sessionStorage.getItem("contrastive-key");
          if (key) headers["Authorization"] = "Bearer " + key;
          try {
            const r = await fetch(`/api/jobs/${jobId}/events`, { headers });
            if (r.status === 401) { document.getElementById("auth").style.display = "block"; return; }
            if (!r.ok) throw new Error(`/api/jobs/${jobId}/events: ${r.status}`);
            logLines.length = 0; // a new stream starts with the log's tail again
            const reader = r.body.getReader(), decoder = new TextDecoder();
            let buffer = "";
            for (;;) {
              const { value, done } = await reader.read();
              if (done) break;
              buffer += decoder.decode(value, { stream: true });
              let cut;
              while ((cut = buffer.indexOf("\n\n")) >= 0) {
                const block = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
                let name = "message"; const data = [];
                for (const line of block.split("\n")) {
                  if (line.startsWith("event: ")) name = line.slice(7);
                  else if (line.startsWith("data: ")) data.push(line.slice(6));
                  else if (line.startsWith("data:")) data.push(line.slice(5));
                }
                if (!block.startsWith(":")) onEvent(name, data.join("\n"));
              }
            }
          } catch (e) { document.getElementById("error").textContent = e.message; }
          if (!ended) setTimeout(listen, 2000); // the stream broke (a restart of the service): listen again
        }
        if (jobId) { jobSkeleton(); listen(); } else listLoop();
        </script>
        </body>
        </html>
        """;
}
