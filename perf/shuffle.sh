#!/usr/bin/env bash
# Shuffle quality (issue 18): the same images in three layouts, SimCLR for MINUTES each on defaults, kNN of the trained
# encoder against the random-init one on the run's held-out split, and the batch diversity of the run; then every
# layout's encoder on one common test set (2,000 other images of the same kind, the 2,000 training images as the kNN
# bank, `eval --baselines`), where the random-init figure is the same for all and the 200-image held-out noise is gone.
#   random   Parquet shards in random row order (pack, which shuffles)
#   folder   an ImageFolder tree, one sub-folder per class (stored class by class)
#   sorted   Parquet shards packed class by class (pack --no-shuffle from the folder)
# Usage: bash perf/shuffle.sh [MINUTES=5] [COUNT=2000] [EXTRA train args...]   (from the repository root)
set -euo pipefail
M=${1:-5}; N=${2:-2000}; shift $(( $# > 2 ? 2 : $# )) || true
dotnet build -c Release src/Host -v q -nologo >/dev/null
B=src/Host/bin/Release/net10.0/contrastive
D=data/shuffle-$N
if [ ! -d $D/folder ]; then
  $B demo-data --output $D/folder --layout folder --count "$N" --width 400 --height 300 --quality 95 >/dev/null
  $B pack --input $D/folder --output $D/sorted --no-shuffle --shard-size-mb 16 >/dev/null 2>&1
  $B pack --input $D/folder --output $D/random --shard-size-mb 16 >/dev/null 2>&1
fi
[ -d $D/test ] || $B demo-data --output $D/test --count 2000 --seed 1 --width 400 --height 300 --quality 95 >/dev/null 2>&1
OUT=$(mktemp -d /tmp/shuffle-XXXXXX)
for layout in random folder sorted; do
  $B train --data $D/$layout --max-minutes "$M" --out "$OUT/$layout" --json "$@" 2>"$OUT/$layout.log" | tail -n 1 > "$OUT/$layout.json"
  python3 - "$layout" "$OUT/$layout.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[2])); d = r.get("batch_diversity") or {}
print(f"{sys.argv[1]:7} steps {r['steps']:5}  kNN trained {r['knn_top1']:.4f}  random-init {r['knn_top1_random_init']:.4f}  "
      f"gain {100 * (r['knn_top1'] - r['knn_top1_random_init']):+.1f} pts  labels/batch {d.get('mean_distinct_labels', 0):.2f} "
      f"(uniform {d.get('uniform_distinct_labels', 0):.2f}, {100 * d.get('ratio', 0):.1f}%)  largest unit share {100 * d.get('largest_unit_share', 0):.1f}%")
PY
done
for layout in random folder sorted; do
  CKPT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["checkpoint"])' "$OUT/$layout.json")
  $B eval --checkpoint "$CKPT" --train-data $D/random --test-data $D/test --baselines --json 2>/dev/null | tail -n 1 > "$OUT/$layout.eval.json"
  python3 - "$layout" "$OUT/$layout.eval.json" <<'PY'
import json, sys
e = json.load(open(sys.argv[2]))
print(f"{sys.argv[1]:7} common test set: kNN trained {e['knn_top1']:.4f}  random-init {e['knn_top1_random_init']:.4f}  "
      f"gain {100 * (e['knn_top1'] - e['knn_top1_random_init']):+.1f} pts  linear {e['linear_top1']:.4f} (random-init {e['linear_top1_random_init']:.4f})")
PY
done
echo "(logs in $OUT)"
