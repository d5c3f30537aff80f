#!/usr/bin/env bash
# The method benchmark table (issue 17): every image method on Fashion-MNIST for MINUTES each, all defaults, on this
# machine, one after the other, beside the PyTorch peer and the raw-pixel and random-init baselines.
#
# The data is what a new user brings: Hugging Face-style Parquet of PNGs (image = {bytes, path}, label, text) written by
# DuckDB on its defaults (`perf -- fmnist-captions` makes the PNGs and the captions from Debian's IDX files, then
# tests/tools/copy_parquet_duckdb.mjs rewrites the shards with DuckDB). Each method: `contrastive train --method M
# --data D/train --max-minutes MINUTES` and nothing else, then `contrastive eval --checkpoint C --train-data D/train
# --test-data D/test --baselines` (weighted kNN top-1, k 20, cosine, T 0.1, the 60,000 training images as the bank and the
# 10,000 test images as queries; a linear probe; the same encoder at random init; raw pixels). SimCLR runs SIMCLR_RUNS
# times (seeds 0, 1, …: the target is the median; the baselines with seed 0's run only). CLIP is scored zero-shot on the class names with 5 prompt templates
# no training caption uses, and by kNN and linear probe of its image tower. The peer is
# ../shared/peers/peer_pytorch_simclr_fmnist.py MINUTES 2 (its own kNN, the same protocol, on the IDX files).
#
# Usage: bash perf/methods.sh [MINUTES=10] [SIMCLR_RUNS=3] [OUT=/tmp/fmnist-methods] [METHODS="simclr moco byol supcon dino clip peer"]
# (from the repository root). Needs: apt-get install dataset-fashion-mnist python3-torch python3-torchvision, and
# `npm ci` in tests/tools (DuckDB). Prints a Markdown table at the end; the logs and JSON stay in OUT.
set -euo pipefail
M=${1:-10}
RUNS=${2:-3}
OUT=${3:-/tmp/fmnist-methods}
METHODS=${4:-simclr moco byol supcon dino clip peer}
IDX=/usr/share/datasets/fashion-mnist
[ -f $IDX/train-images-idx3-ubyte.gz ] || { echo "Fashion-MNIST is missing: apt-get install dataset-fashion-mnist" >&2; exit 2; }
[ -d tests/tools/node_modules/@duckdb ] || { echo "DuckDB is missing: (cd tests/tools && npm ci)" >&2; exit 2; }
dotnet build -c Release src/Host -v q -nologo >/dev/null
B=src/Host/bin/Release/net10.0/contrastive
D=$OUT/data
mkdir -p "$OUT"
if [ ! -f "$D/test/test.parquet" ]; then
  dotnet run -c Release --project perf -- fmnist-captions $IDX "$OUT/src" >/dev/null
  mkdir -p "$D/train" "$D/test"
  cp "$OUT/src/classes.txt" "$OUT/src/templates.txt" "$D/"
  (cd tests/tools && node copy_parquet_duckdb.mjs "$OUT/src/train/*.parquet" "$D/train/train.parquet" \
                  && node copy_parquet_duckdb.mjs "$OUT/src/test/*.parquet" "$D/test/test.parquet")
  rm -rf "$OUT/src"
fi
echo "$(date -u +%FT%TZ) $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src perf || echo " with uncommitted changes") $(lscpu | sed -n 's/^Model name: *//p') $(nproc) cores" > "$OUT/machine.txt"

run() { # NAME METHOD BASELINES(yes|no) [train args...]
  local name=$1 method=$2 baselines=$3; shift 3
  rm -rf "$OUT/$name"; mkdir -p "$OUT/$name"
  echo "$(date -u +%T) $name: train --method $method $*" >&2
  $B train --method "$method" --data "$D/train" --max-minutes "$M" --out "$OUT/$name/run" --json "$@" \
    2>"$OUT/$name/train.log" | tail -n 1 > "$OUT/$name/train.json"
  local ckpt
  ckpt=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["checkpoint"])' "$OUT/$name/train.json")
  $B eval --checkpoint "$ckpt" --train-data "$D/train" --test-data "$D/test" $([ "$baselines" = yes ] && echo --baselines) --json \
    2>"$OUT/$name/eval.log" | tail -n 1 > "$OUT/$name/eval.json"
  if [ "$method" = clip ]; then
    $B eval --checkpoint "$ckpt" --test-data "$D/test" --zero-shot --classes-file "$D/classes.txt" \
      --templates "$(cat "$D/templates.txt")" --baselines --json 2>"$OUT/$name/zeroshot.log" | tail -n 1 > "$OUT/$name/zeroshot.json"
  fi
}

for m in $METHODS; do
  case $m in
    simclr) for ((i = 0; i < RUNS; i++)); do run "simclr-$i" simclr $([ $i = 0 ] && echo yes || echo no) --seed "$i"; done ;;
    peer)
      echo "$(date -u +%T) peer: peer_pytorch_simclr_fmnist.py $M 2" >&2
      mkdir -p "$OUT/peer"
      /usr/bin/python3 ../shared/peers/peer_pytorch_simclr_fmnist.py "$M" 2 > "$OUT/peer/out.txt" 2>"$OUT/peer/err.txt" ;;
    *) run "$m" "$m" yes ;;
  esac
done

python3 - "$OUT" "$M" <<'PY'
import json, os, re, statistics, sys
out, minutes = sys.argv[1], sys.argv[2]
def load(name, f):
    p = os.path.join(out, name, f)
    return json.load(open(p)) if os.path.exists(p) and os.path.getsize(p) > 0 else None
print(open(os.path.join(out, "machine.txt")).read().strip())
print(f"\n| method ({minutes} min, all defaults) | steps | images/s | kNN top-1 | linear probe | random-init kNN | random-init linear | zero-shot top-1 |")
print("|---|---|---|---|---|---|---|---|")
pixels = None
simclr = sorted(n for n in os.listdir(out) if n.startswith("simclr-"))
rows = [(n, f"SimCLR (seed {n.split('-')[1]})") for n in simclr] + [
    ("moco", "MoCo v2"), ("byol", "BYOL"), ("supcon", "SupCon (labels)"), ("dino", "DINO"), ("clip", "CLIP (captions)")]
for name, label in rows:
    t, e = load(name, "train.json"), load(name, "eval.json")
    if t is None or e is None: continue
    z = load(name, "zeroshot.json")
    pixels = pixels or (e if "knn_top1_pixels" in e else None)
    zs = f"{z['zero_shot_top1']:.4f} (random init {z['zero_shot_top1_random_init']:.4f})" if z else ""
    r = lambda k: f"{e[k]:.4f}" if k in e else "(as seed 0)"
    print(f"| {label} | {t['steps']:,} | {t['samples'] / t['seconds']:.0f} | {e['knn_top1']:.4f} | {e['linear_top1']:.4f} "
          f"| {r('knn_top1_random_init')} | {r('linear_top1_random_init')} | {zs} |")
if pixels:
    print(f"| raw pixels (784 values) | | | {pixels['knn_top1_pixels']:.4f} | {pixels['linear_top1_pixels']:.4f} | | | |")
p = os.path.join(out, "peer", "out.txt")
if os.path.exists(p):
    text = open(p).read()
    rnd = re.search(r"random-init encoder kNN top-1: ([0-9.]+)", text)
    tr = re.search(r"trained (\d+) steps \((\d+) images, (\d+) img/s\)", text)
    knn = re.search(r"SimCLR kNN top-1 after .*: ([0-9.]+)", text)
    if tr and knn:
        print(f"| PyTorch peer (SimCLR) | {int(tr.group(1)):,} | {tr.group(3)} | {float(knn.group(1)):.4f} | | {float(rnd.group(1)):.4f} | | |")
knns = [e["knn_top1"] for e in (load(n, "eval.json") for n in simclr) if e]
if knns:
    print(f"\nSimCLR kNN top-1 over {len(knns)} run(s): median {statistics.median(knns):.4f} ({', '.join(f'{k:.4f}' for k in knns)})")
PY
echo "(logs and JSON in $OUT)"
