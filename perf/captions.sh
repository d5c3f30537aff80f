#!/usr/bin/env bash
# Issue 14's throughput target: captioned batches (captions read and tokenized by the workers into the token plane,
# `bench --captions`) cost no more than 5% over image-only batches of the same captioned data. Runs `bench --captions
# false` and `bench --captions` alternately (the first of each pair alternates too, so a drift of the machine falls on
# both alike), ROUNDS pairs on the same settings, and prints every run, the medians of images/s and their ratio, and
# the medians of the process's CPU time per image (less swayed by other work on a shared machine).
# Default method simclr (2 views per image); `--method clip` as an extra argument: clip's 1 view per image.
# Usage: bash perf/captions.sh [SECONDS=20] [ROUNDS=3] [COUNT=4000] [EXTRA bench args...]   (from the repository root)
set -euo pipefail
S=${1:-20}; R=${2:-3}; N=${3:-4000}; shift $(( $# > 3 ? 3 : $# )) || true
dotnet build -c Release src/Host -v q -nologo >/dev/null
B=src/Host/bin/Release/net10.0/contrastive
D=data/captions-$N
[ -f $D/.complete ] || $B demo-data --kind captions --output $D --count "$N" >/dev/null 2>&1
OUT=$(mktemp -d /tmp/captions-XXXXXX)

run() { # label, round, then extra bench arguments
  local label=$1 round=$2; shift 2
  $B bench --data $D --seconds "$S" --json "$@" 2>"$OUT/$label-$round.log" | tail -n 1 > "$OUT/$label-$round.json"
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
for ((i = 1; i <= R; i++)); do
  if (( i % 2 )); then run images $i --captions false "$@"; run captions $i --captions "$@"
  else run captions $i --captions "$@"; run images $i --captions false "$@"; fi
done

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$OUT" "$R" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
rates = {"images": [], "captions": []}; cpu = {"images": [], "captions": []}
for i in range(1, rounds + 1):
    for label in rates:
        r = json.load(open(f"{out}/{label}-{i}.json")); s = r["stage_rates"]; c = r.get("captions")
        rates[label].append(r["images_per_sec"]); cpu[label].append(r["cpu_ms_per_image"])
        extra = f", {c['tokens_per_caption']:.1f} ids/caption ({c['tokenizer']}, context {c['context']})" if c else ""
        print(f"round {i} {label:8} {r['images_per_sec']:7.0f} images/s  decode {s['decode_ms_per_image']:.3f} ms/image  "
              f"augment {s['augment_ms_per_view']:.3f} ms/view  workers {r['workers']} ({100 * s['worker_utilization']:.0f}% busy)  "
              f"CPU {1000 * r['cpu_ms_per_image']:.1f} us/image ({r['cpu_cores']:.2f} cores)  "
              f"{r['alloc_bytes_per_image']:.0f} B/image{extra}")
mi, mc = statistics.median(rates["images"]), statistics.median(rates["captions"])
pairs = [c / i for i, c in zip(rates["images"], rates["captions"])]
print(f"median images/s: image-only {mi:.0f}, with captions {mc:.0f}; captions/image-only {mc / mi:.3f} "
      f"(cost {100 * (1 - mc / mi):+.1f}%, target at most 5%)")
print(f"ratio within each round: {', '.join(f'{p:.3f}' for p in pairs)}; median {statistics.median(pairs):.3f}")
ci, cc = statistics.median(cpu["images"]), statistics.median(cpu["captions"])
print(f"median CPU time per image: image-only {1000 * ci:.1f} us, with captions {1000 * cc:.1f} us; captions cost {100 * (cc / ci - 1):+.1f}% CPU per image")
PY
echo "(logs in $OUT)"
