#!/usr/bin/env bash
# Paired `contrastive bench` runs of two builds, alternated (A B A B …) so that drift of a shared machine falls on both:
# prints each run's images/s, then per configuration the median of each build and the ratio B / A of the medians.
#
# Usage: bash perf/paired.sh A_DIR B_DIR [PAIRS=5] [SECONDS=20]
#   A_DIR, B_DIR: folders holding a built contrastive (e.g. copies of src/Host/bin/Release/net10.0 of two commits).
# The data is the demo set (8,000 small JPEGs) and 2,000 photo-sized JPEGs (400x300, q95), written once under data/.
set -euo pipefail
A=$1; B=$2; PAIRS=${3:-5}; S=${4:-20}
[ -f data/demo/.complete ] || dotnet "$B/contrastive.dll" demo-data --output data/demo --count 8000 2>/dev/null
[ -f data/photo400/.complete ] || dotnet "$B/contrastive.dll" demo-data --output data/photo400 --count 2000 --width 400 --height 300 --quality 95 2>/dev/null
configs=("photo400 224px batch 64, 2 workers|--data data/photo400 --image-size 224 --batch-size 64 --workers 2"
         "demo 32px batch 128, 2 workers|--data data/demo --batch-size 128 --workers 2")
rate() { dotnet "$1/contrastive.dll" bench --json --seconds "$S" $2 2>/dev/null | tail -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["images_per_sec"])'; }
for c in "${configs[@]}"; do
  name=${c%%|*}; args=${c#*|}; ra=(); rb=()
  for i in $(seq 1 "$PAIRS"); do
    ra+=("$(rate "$A" "$args")"); rb+=("$(rate "$B" "$args")")
    echo "$name pair $i: A ${ra[-1]} B ${rb[-1]} images/s"
  done
  python3 - "$name" "${ra[*]}" "${rb[*]}" <<'PY'
import statistics, sys
name, a, b = sys.argv[1], [float(x) for x in sys.argv[2].split()], [float(x) for x in sys.argv[3].split()]
ma, mb = statistics.median(a), statistics.median(b)
print(f"{name}: median A {ma:.0f}, B {mb:.0f} images/s, B/A {mb / ma:.3f} (A {min(a):.0f}-{max(a):.0f}, B {min(b):.0f}-{max(b):.0f})")
PY
done
