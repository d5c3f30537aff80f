#!/usr/bin/env bash
# The cost of online evaluation (Evaluation:Every): paired `contrastive train` runs of the same steps with and without
# --eval-every, alternated (off, on, off, on, …) so that drift of a shared machine falls on both. Prints each run's
# seconds (the process's whole wall time, from start to exit: the one-time decode of the online images, every
# evaluation and the end-of-run evaluation included), the medians and the ratio, and from the runs with it the seconds
# an evaluation takes and a training step takes, hence the share at other intervals (the service's default is 500).
#
# Usage: bash perf/online-eval.sh [PAIRS=3] [STEPS=300] [EVERY=100] [EXTRA train options…]
# The data is the demo set (8,000 generated JPEGs, written once under data/demo). Run from the repository root after
# `dotnet build -c Release src/Host`.
set -euo pipefail
PAIRS=${1:-3}; STEPS=${2:-300}; EVERY=${3:-100}; shift $(( $# < 3 ? $# : 3 )); EXTRA=("$@")
C=(dotnet src/Host/bin/Release/net10.0/contrastive.dll)
[ -f data/demo/.complete ] || "${C[@]}" demo-data --output data/demo --count 8000 2>/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
run() { # $1: eval-every (0: off); prints wall seconds, then the json line
  rm -rf "$out/run"
  local t0=$(date +%s.%N)
  "${C[@]}" train --data data/demo --out "$out/run" --max-steps "$STEPS" --max-minutes 0 --eval-every "$1" --json "${EXTRA[@]}" 2>/dev/null | tail -n 1 > "$out/json"
  local t1=$(date +%s.%N)
  python3 -c "print(round($t1 - $t0, 2))"
}
off=(); on=(); evals=(); steps=()
for i in $(seq 1 "$PAIRS"); do
  off+=("$(run 0)")
  on+=("$(run "$EVERY")")
  read -r e s < <(python3 - "$out/json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
pts = r["online_eval"]
print(sum(p["seconds"] for p in pts) / len(pts), (r["seconds"] - r["online_eval_seconds"]) / r["steps"])
PY
)
  evals+=("$e"); steps+=("$s")
  echo "pair $i: without ${off[-1]} s, with (every $EVERY) ${on[-1]} s; an evaluation $(printf %.3f "$e") s, a step $(printf %.4f "$s") s"
done
python3 - "${off[*]}" "${on[*]}" "${evals[*]}" "${steps[*]}" "$EVERY" "$STEPS" <<'PY'
import statistics, sys
off, on, ev, st = ([float(x) for x in a.split()] for a in sys.argv[1:5])
every, steps = int(sys.argv[5]), int(sys.argv[6])
mo, mw, me, ms = (statistics.median(x) for x in (off, on, ev, st))
print(f"{steps} steps: median without {mo:.1f} s ({min(off):.1f}-{max(off):.1f}), with --eval-every {every} {mw:.1f} s ({min(on):.1f}-{max(on):.1f}): "
      f"x{mw / mo:.3f} ({100 * (mw / mo - 1):+.1f} %)")
print(f"an evaluation {me:.3f} s, a step {ms:.4f} s: every N steps costs {100 * me / ms:.1f} % / N of the training time "
      + ", ".join(f"(N={n}: {100 * me / (n * ms):.2f} %)" for n in (100, 250, 500, 1000)))
PY
