#!/usr/bin/env bash
# The service's overhead: the same 2-minute training job run by `contrastive train` on the command line and through
# `contrastive serve` (the local executor), alternated in pairs (CLI, service, CLI, service, …) so that drift of a shared
# machine falls on both. Prints each run's training images/s (the result's samples / seconds) and wall time (the CLI:
# process start to exit; the service: POST to the job's end as GET /api/jobs/ID sees it), then the medians and ratios.
#
# Usage: bash perf/serve-overhead.sh [PAIRS=3] [MINUTES=2]   (from the repository root, after a Release build)
# The data is the demo set (8,000 small JPEGs) under data/, written once.
set -euo pipefail
PAIRS=${1:-3}; MIN=${2:-2}
C="dotnet src/Host/bin/Release/net10.0/contrastive.dll"
[ -f data/demo/.complete ] || $C demo-data --output data/demo --count 8000 2>/dev/null
work=$(mktemp -d /tmp/serve-overhead.XXXXXX); port=18765
trap 'kill $(cat "$work/serve.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
spec="{\"method\":\"simclr\",\"data\":\"demo\",\"max_minutes\":$MIN,\"batch_size\":128,\"workers\":1,\"checkpoint_every\":0}"
args="--data data/demo --method simclr --max-minutes $MIN --batch-size 128 --workers 1 --checkpoint-every 0"
$C serve --urls http://127.0.0.1:$port --state "$work/state" --data-root "$PWD/data" >"$work/serve.log" 2>&1 & echo $! >"$work/serve.pid"
for _ in $(seq 1 60); do curl -sf http://127.0.0.1:$port/readyz >/dev/null && break; sleep 1; done
rate() { python3 -c 'import json,sys; r=json.loads(sys.stdin.read().strip().splitlines()[-1]); r=r.get("result", r); print("%.1f" % (r["samples"] / r["seconds"]))'; }
cli=(); svc=(); cliw=(); svcw=()
for i in $(seq 1 "$PAIRS"); do
  t0=$(date +%s.%N)
  $C train $args --out "$work/cli-$i" --json 2>/dev/null | tail -n 1 >"$work/cli-$i.json"
  cliw+=("$(python3 -c "print(f'{$(date +%s.%N) - $t0:.1f}')")"); cli+=("$(rate <"$work/cli-$i.json")")
  t0=$(date +%s.%N)
  id=$(curl -sf -X POST http://127.0.0.1:$port/api/jobs -d "$spec" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  # A light poll (curl and grep once a second), so that the measurement takes little from the job it measures.
  for _ in $(seq 1 2000); do
    state=$(curl -sf http://127.0.0.1:$port/api/jobs/$id | grep -o '"state":"[a-z]*"' | head -n 1 | cut -d'"' -f4)
    [ "$state" = succeeded ] || [ "$state" = failed ] && break; sleep 1
  done
  svcw+=("$(python3 -c "print(f'{$(date +%s.%N) - $t0:.1f}')")")
  [ "$state" = succeeded ] || { echo "job $id $state" >&2; exit 1; }
  svc+=("$(curl -sf http://127.0.0.1:$port/api/jobs/$id | rate)")
  echo "pair $i: train ${cli[-1]} images/s in ${cliw[-1]} s, serve ${svc[-1]} images/s in ${svcw[-1]} s"
done
python3 - "${cli[*]}" "${svc[*]}" "${cliw[*]}" "${svcw[*]}" <<'PY'
import statistics, sys
a, b, aw, bw = ([float(x) for x in s.split()] for s in sys.argv[1:5])
ma, mb = statistics.median(a), statistics.median(b)
print(f"training images/s: median train {ma:.1f}, serve {mb:.1f}, serve/train {mb / ma:.3f} (train {min(a):.1f}-{max(a):.1f}, serve {min(b):.1f}-{max(b):.1f})")
print(f"wall time: median train {statistics.median(aw):.1f} s, serve {statistics.median(bw):.1f} s (submission to end as the API sees it)")
PY
