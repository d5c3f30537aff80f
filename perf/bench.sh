#!/usr/bin/env bash
# Re-runs the README's input-pipeline figures (contrastive bench) and prints one row per configuration.
# Usage: bash perf/bench.sh [SECONDS]   (from the repository root; default 20 s per run)
set -euo pipefail
S=${1:-20}
dotnet build -c Release src/Host -v q -nologo >/dev/null
B=src/Host/bin/Release/net10.0/contrastive
[ -f data/demo/.complete ] || $B demo-data --output data/demo --count 8000 2>/dev/null
[ -f data/photo400/.complete ] || $B demo-data --output data/photo400 --count 2000 --width 400 --height 300 --quality 95 2>/dev/null

row() { # label, then bench arguments
  local label=$1; shift
  $B bench --json "$@" 2>/dev/null | tail -n 1 | python3 -c '
import json, sys
r = json.load(sys.stdin); s = r["stage_rates"]
cells = [sys.argv[1], str(r["workers"]), "%.0f" % r["images_per_sec"], "%.0f" % r["views_per_sec"], "%.0f" % r["alloc_bytes_per_image"],
         "%.2f%%" % (100 * r["starvation"]), "%.0f%%" % (100 * s.get("worker_utilization", 0)),
         "%.0f -> %.0f" % (r["working_set_start_mb"], r["working_set_end_mb"]), "%.0f" % r["stop_ms"]]
print("| " + " | ".join(cells) + " |")' "$label"
}

echo "| run | workers | images/s | views/s | B allocated/image | starvation | workers busy | working set MB | stop ms |"
echo "|---|---|---|---|---|---|---|---|---|"
row "demo, 32 px, batch 128, null consumer" --data data/demo --batch-size 128 --workers 1 --seconds "$S"
row "demo, 32 px, batch 128, null consumer" --data data/demo --batch-size 128 --workers 2 --seconds "$S"
row "400x300 q95, 224 px, batch 64, null consumer" --data data/photo400 --image-size 224 --batch-size 64 --workers 1 --seconds "$S"
row "400x300 q95, 224 px, batch 64, null consumer" --data data/photo400 --image-size 224 --batch-size 64 --workers 2 --seconds "$S"
row "400x300 q95, 224 px, consumer at 150 img/s" --data data/photo400 --image-size 224 --batch-size 64 --workers 2 --seconds "$S" --consumer-rate 150
row "demo, 32 px, consumer at 5000 img/s" --data data/demo --batch-size 128 --workers 2 --seconds "$S" --consumer-rate 5000
for d in demo photo400; do
  echo "ingest alone, data/$d: $($B bench --stage ingest --data data/$d --seconds 5 2>/dev/null)"
done
