#!/usr/bin/env bash
# Issue 14's zero-shot target: CLIP on Fashion-MNIST with captions made from its class names (8 sentence templates, one
# per image: `perf -- fmnist-captions`), MINUTES of training on all defaults, then zero-shot classification of the
# 10,000 test images with 5 prompt templates never used in training (prompt ensembling), trained against the random-init
# towers; image-text retrieval and kNN on the held-out 10 % of the training set come from `train --json`.
# Usage: bash perf/fmnist-clip.sh [MINUTES=10] [OUT=/tmp/fmnist-clip]   (from the repository root)
# Needs: apt-get install dataset-fashion-mnist
set -euo pipefail
M=${1:-10}
OUT=${2:-/tmp/fmnist-clip}
D=/usr/share/datasets/fashion-mnist
[ -f $D/train-images-idx3-ubyte.gz ] || { echo "Fashion-MNIST is missing: apt-get install dataset-fashion-mnist" >&2; exit 2; }
dotnet build -c Release src/Host -v q -nologo >/dev/null
B=src/Host/bin/Release/net10.0/contrastive
mkdir -p "$OUT"
[ -f "$OUT/data/templates.txt" ] || dotnet run -c Release --project perf -- fmnist-captions $D "$OUT/data" >/dev/null
rm -rf "$OUT/run"
$B train --method clip --data "$OUT/data/train" --max-minutes "$M" --out "$OUT/run" --json 2>"$OUT/train.log" | tail -n 1 > "$OUT/train.json"
CKPT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["checkpoint"])' "$OUT/train.json")
$B eval --checkpoint "$CKPT" --test-data "$OUT/data/test" --zero-shot --classes-file "$OUT/data/classes.txt" \
  --templates "$(cat "$OUT/data/templates.txt")" --baselines --json 2>"$OUT/eval.log" | tail -n 1 > "$OUT/eval.json"
python3 - "$OUT/train.json" "$OUT/eval.json" <<'PY'
import json, sys
t, e = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
r, r0 = t["retrieval"], t["retrieval_random_init"]
print(f"clip: {t['steps']} steps, {t['samples']} images in {t['seconds']:.0f} s ({t['samples'] / t['seconds']:.0f} img/s), final loss {t['final_loss']:.4f}")
print(f"zero-shot top-1 {e['zero_shot_top1']:.4f}, top-5 {e['zero_shot_top5']:.4f}; random init {e['zero_shot_top1_random_init']:.4f} / {e['zero_shot_top5_random_init']:.4f} "
      f"({e['classes']} classes, {e['templates']} templates, {e['test_samples']} test images)")
print(f"retrieval on {r['samples']} held-out pairs: i2t R@1 {r['i2t_r1']:.4f} R@5 {r['i2t_r5']:.4f}, t2i R@1 {r['t2i_r1']:.4f} R@5 {r['t2i_r5']:.4f}; "
      f"random init i2t R@1 {r0['i2t_r1']:.4f}, t2i R@1 {r0['t2i_r1']:.4f}")
print(f"held-out kNN top-1 (image features): trained {t['knn_top1']:.4f}, random init {t['knn_top1_random_init']:.4f}")
PY
echo "(logs in $OUT)"
