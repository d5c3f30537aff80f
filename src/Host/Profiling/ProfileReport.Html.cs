using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Contrastive.Host.Assets;

namespace Contrastive.Host;

/// <summary>The report as one HTML page.</summary>
internal sealed partial class ProfileReport
{
    /// <summary>The page: one file, the chart library and the data inline.</summary>
    public string ToHtml()
    {
        var ic = CultureInfo.InvariantCulture;
        static string E(string s) => WebUtility.HtmlEncode(s);
        var f = Figures;
        var v = Verdict;
        var h = Header;
        var html = new StringBuilder();
        html.Append("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(E(Title)).Append("</title>\n<style>")
            .Append(HostAssets.ReadText(HostAssets.UPlotStyle)).Append('\n').Append(Style).Append("</style>\n<script>")
            .Append(HostAssets.ReadText(HostAssets.UPlotScript)).Append("</script>\n</head>\n<body>\n");
        html.Append("<h1>").Append(E(Title)).Append("</h1>\n");
        html.Append("<p class=\"meta\">").Append(E(string.Create(ic,
            $"{h.Command} · started {h.Started:yyyy-MM-dd HH:mm:ss} UTC · data {h.Data} ({h.Format}) · {h.Workers} worker(s) on {h.Cores} core(s) · {h.Decoder} decoder{(h.DecodeScaling ? " with decode scaling" : "")} · batch {h.BatchSize} × {h.Views} views at {h.ImageSize} px · chunk queue {h.ChunkQueue}, prefetch {h.Prefetch}{(h.Deterministic ? " · deterministic" : "")}")))
            .Append("</p>\n");

        html.Append("<section id=\"verdict\" class=\"verdict ").Append(v is null ? "none" : v.Bound.Replace(' ', '-')).Append("\">\n");
        if (v is null)
        {
            html.Append("<h2>Verdict</h2><p>Not enough pipeline samples to judge (the run was shorter than a second, or its pipeline.jsonl is missing).</p>\n");
        }
        else
        {
            html.Append("<h2>Verdict: ").Append(E(v.Bound)).Append(" — bottleneck: <span id=\"bottleneck\" data-stage=\"").Append(E(v.Stage)).Append("\">")
                .Append(E(v.Stage)).Append("</span></h2>\n<p class=\"headline\">").Append(E(v.Headline)).Append("</p>\n<ul class=\"reasons\">");
            foreach (var r in v.Reasons) html.Append("<li>").Append(E(r)).Append("</li>");
            html.Append("</ul>\n<h3>What would help</h3>\n<ul class=\"advice\">");
            foreach (var a in v.Advice) html.Append("<li>").Append(E(a)).Append("</li>");
            html.Append("</ul>\n");
        }
        foreach (var n in Notes) html.Append("<p class=\"note\">").Append(E(n)).Append("</p>\n");
        html.Append("</section>\n");

        if (f is not null)
        {
            html.Append("<h2>Stages</h2>\n<table id=\"stages\"><thead><tr><th>stage</th><th>rate</th><th>time each</th><th>busy</th><th>queue before it (avg / capacity)</th></tr></thead><tbody>\n");
            void Row(string stage, string rate, string each, double? busy, string queue)
            {
                bool limit = v is not null && v.Stage == stage;
                html.Append("<tr").Append(limit ? " class=\"limit\"" : "").Append("><td>").Append(E(stage)).Append("</td><td>").Append(E(rate)).Append("</td><td>").Append(E(each))
                    .Append("</td><td>");
                if (busy is { } b)
                    html.Append(string.Create(ic, $"<div class=\"bar\"><span style=\"width:{b * 100:F1}%\"></span></div> {b:P0}"));
                html.Append("</td><td>").Append(E(queue)).Append("</td></tr>\n");
            }
            Row("read", string.Create(ic, $"{f.ReadImagesPerSec:F0} images/s, {f.ReadMbPerSec:F1} MB/s"), string.Create(ic, $"{f.ReadMsPerChunk:F2} ms a chunk"), f.ReaderBusy, "");
            Row("decode", string.Create(ic, $"{f.DecodedPerSec:F0} images/s"), string.Create(ic, $"{f.DecodeMsEach:F3} ms an image"), f.DecodeBusy,
                string.Create(ic, $"chunks {f.ChunkQueueAvg:F1} / {f.ChunkQueueCapacity}"));
            Row("augment", string.Create(ic, $"{f.ViewsPerSec:F0} views/s"), string.Create(ic, $"{f.AugmentMsEach:F3} ms a view"), f.AugmentBusy,
                string.Create(ic, $"worker input {f.WorkerQueueAvg:F1} / {f.WorkerQueueCapacity}"));
            Row("prefetch", string.Create(ic, $"{f.BatchesPerSec:F2} batches/s"), "", null, string.Create(ic, $"prefetch {f.PrefetchAvg:F1} / {f.PrefetchCapacity}"));
            if (Consumer is not null)
                Row("trainer", string.Create(ic, $"{f.ImagesPerSec:F0} images/s"), string.Create(ic, $"{f.ConsumerMsPerBatch:F1} ms a batch"), 1 - f.Starvation,
                    string.Create(ic, $"waited for data {f.Starvation:P1}"));
            html.Append("</tbody></table>\n");
            html.Append(string.Create(ic, $"<p class=\"meta\">Over {f.Seconds:F1} s: {f.ImagesPerSec:F0} images/s, {f.ViewsPerSec:F0} views/s; busy shares are of the wall time (decode and augment: of all workers' time); peak working set {f.PeakWorkingSetMb:F0} MB; bad samples {f.BadSamples}.</p>\n"));
        }

        html.Append("<h2>Over time</h2>\n<div class=\"grid\">\n");
        foreach (var id in new[] { "throughput", "busy", "queues", "starvation", "memory" })
            html.Append("<div class=\"chart\" id=\"chart-").Append(id).Append("\"></div>\n");
        if (Training.Count > 0)
            foreach (var id in new[] { "loss", "lr", "train-rate" })
                html.Append("<div class=\"chart\" id=\"chart-").Append(id).Append("\"></div>\n");
        if (Evaluations.Count > 0) html.Append("<div class=\"chart\" id=\"chart-evaluation\"></div>\n");
        html.Append("</div>\n<script type=\"application/json\" id=\"report-data\">")
            .Append(ChartData().ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.Default }))
            .Append("</script>\n<script>\n").Append(Script).Append("</script>\n</body></html>\n");
        return html.ToString();
    }

    private const string Style = """
        body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px 32px; color: #1d2330; background: #fff; }
        h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 22px 0 8px; } h3 { font-size: 14px; margin: 10px 0 4px; }
        .meta { color: #5a6475; margin: 4px 0 10px; }
        .verdict { border-left: 6px solid #8892a6; background: #f5f7fa; padding: 6px 16px 10px; border-radius: 4px; }
        .verdict.input-bound { border-color: #d9822b; } .verdict.compute-bound { border-color: #2b8a3e; } .verdict.pipeline-alone { border-color: #3b6fd9; }
        .verdict h2 { margin-top: 6px; } .headline { font-weight: 600; } .verdict ul { margin: 4px 0; padding-left: 20px; } .note { color: #5a6475; margin: 4px 0; }
        table { border-collapse: collapse; } th, td { text-align: left; padding: 4px 12px 4px 0; border-bottom: 1px solid #e3e7ee; white-space: nowrap; }
        tr.limit td { background: #fff1e0; font-weight: 600; }
        .bar { display: inline-block; width: 90px; height: 10px; background: #e3e7ee; vertical-align: middle; border-radius: 2px; }
        .bar span { display: block; height: 100%; background: #3b6fd9; border-radius: 2px; }
        .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 18px 24px; }
        .chart { min-height: 250px; } .chart h3 { margin: 0 0 2px; } .chart .empty { color: #8892a6; }
        """;

    private const string Script = """
        (function () {
          const D = JSON.parse(document.getElementById("report-data").textContent);
          let drawn = 0, expected = 0;
          const pct = (u, vals) => vals.map(v => v == null ? "" : Math.round(v * 100) + "%");
          const num = (u, vals) => vals.map(v => v == null ? "" : v !== 0 && Math.abs(v) < 0.01 ? v.toExponential(1) : String(+v.toPrecision(4)));
          function chart(id, title, x, series, o) {
            const el = document.getElementById("chart-" + id);
            if (!el) return;
            expected++;
            el.innerHTML = "<h3></h3>";
            el.firstChild.textContent = title;
            if (!x || x.length === 0 || series.every(s => !s.data || s.data.every(v => v == null))) {
              const p = document.createElement("p"); p.className = "empty"; p.textContent = "no data yet"; el.appendChild(p); return;
            }
            o = o || {};
            const share = !!o.share;
            const opts = {
              width: Math.max(360, el.clientWidth || 560), height: 220,
              scales: { x: { time: false }, y: share ? { range: [0, 1] } : (o.log ? { distr: 3 } : {}) },
              axes: [{ label: o.xLabel || "seconds" }, share ? { values: pct, size: 50 } : { values: num, size: 60 }],
              series: [{ label: o.xLabel || "s" }].concat(series.map(s => Object.assign({ label: s.label, stroke: s.color, width: 1.5 },
                o.points ? { paths: () => null, points: { show: true, size: 9, fill: s.color } } : {}))),
              legend: { show: true, live: false },
            };
            const u = new uPlot(opts, [x].concat(series.map(s => s.data)), el);
            if (u.root.querySelector("canvas")) { drawn++; el.setAttribute("data-drawn", "1"); }
          }
          const p = D.pipeline;
          chart("throughput", "Throughput (images/s)", p.t, [{ label: "images/s", color: "#3b6fd9", data: p.images_per_sec }]);
          const busy = [{ label: "reader", color: "#8e44ad", data: p.reader }, { label: "decode", color: "#d9822b", data: p.decode },
                        { label: "augment", color: "#2b8a3e", data: p.augment }];
          if (p.trainer) busy.push({ label: D.consumer || "trainer", color: "#c0392b", data: p.trainer });
          chart("busy", "Busy share per stage (decode, augment: of all workers)", p.t, busy, { share: true });
          chart("queues", "Queue occupancy (share of capacity)", p.t, [{ label: "chunks", color: "#8e44ad", data: p.q_chunks },
            { label: "worker input", color: "#d9822b", data: p.q_workers }, { label: "prefetch", color: "#3b6fd9", data: p.q_prefetch }], { share: true });
          chart("starvation", D.consumer ? "Starvation (" + D.consumer + " waiting for data)" : "Starvation (null consumer: 100% by design)", p.t,
            [{ label: "waiting", color: "#c0392b", data: p.starvation }], { share: true });
          chart("memory", "Memory (MB)", p.t, [{ label: "working set", color: "#3b6fd9", data: p.ws_mb }, { label: "managed heap", color: "#2b8a3e", data: p.heap_mb }]);
          if (D.training) {
            const t = D.training;
            chart("loss", "Training loss", t.step, [{ label: "loss", color: "#c0392b", data: t.loss }], { xLabel: "step" });
            chart("lr", "Learning rate", t.step, [{ label: "lr", color: "#8e44ad", data: t.lr }], { xLabel: "step" });
            chart("train-rate", "Training throughput (samples/s, from the steps' times)", t.rate_t, [{ label: "samples/s", color: "#3b6fd9", data: t.samples_per_sec }]);
          }
          if (D.evaluation) {
            const colors = ["#2b8a3e", "#8892a6", "#d9822b", "#3b6fd9"];
            chart("evaluation", "Evaluation", D.evaluation.step, Object.keys(D.evaluation.series).map((k, i) =>
              ({ label: k, color: colors[i % colors.length], data: D.evaluation.series[k] })), { xLabel: "step", points: true });
          }
          document.body.setAttribute("data-charts-expected", expected);
          document.body.setAttribute("data-charts", drawn);
          document.body.setAttribute("data-canvases", document.querySelectorAll("canvas").length);
        })();
        """;
}
