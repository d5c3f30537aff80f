#!/usr/bin/env bash
# Learning per CPU-minute: SimCLR on Fashion-MNIST for MINUTES of training, ours and the PyTorch peer, one after the other
# on the same machine. Reports weighted kNN top-1 (k 20, cosine, T 0.1, the 60k train features as the bank, the 10k test
# set as queries) for the trained encoder, the random-init encoder and raw pixels, and the peer's trained and random-init.
# Usage: bash perf/fmnist.sh [MINUTES=10] [THREADS=2]   (from the repository root)
# Needs: apt-get install dataset-fashion-mnist python3-torch python3-torchvision (the peer).
set -euo pipefail
M=${1:-10}
T=${2:-2}
D=/usr/share/datasets/fashion-mnist
[ -f $D/train-images-idx3-ubyte.gz ] || { echo "Fashion-MNIST is missing: apt-get install dataset-fashion-mnist" >&2; exit 2; }
dotnet build -c Release src/Host -v q -nologo >/dev/null
B=src/Host/bin/Release/net10.0/contrastive
OUT=$(mktemp -d /tmp/fmnist-XXXXXX)

# Ours: the IDX files read directly; 28 px views (crop 0.2-1, flip, jitter, blur as in the Augment defaults); the
# default small ConvNet, NT-Xent T 0.5, AdamW 1e-3, batch 256; the whole training set (no held-out split: eval uses the test set).
CONTRASTIVE_Training__HoldoutFraction=0 $B train --data $D/train-images-idx3-ubyte.gz --image-size 28 --batch-size 256 \
  --max-minutes "$M" --threads "$T" --workers 1 --out "$OUT/run" --json 2>"$OUT/train.log" | tail -n 1 > "$OUT/train.json"
CKPT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["checkpoint"])' "$OUT/train.json")
$B eval --checkpoint "$CKPT" --train-data $D/train-images-idx3-ubyte.gz --test-data $D/t10k-images-idx3-ubyte.gz \
  --baselines --crop-fraction 1 --json 2>/dev/null | tail -n 1 > "$OUT/eval.json"
python3 - "$OUT/train.json" "$OUT/eval.json" <<'PY'
import json, sys
t, e = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
print(f"ours: {t['steps']} steps, {t['samples']} images in {t['seconds']:.0f} s ({t['samples'] / t['seconds']:.0f} img/s)")
print(f"ours: kNN trained {e['knn_top1']:.4f}, random-init {e['knn_top1_random_init']:.4f}, raw pixels {e['knn_top1_pixels']:.4f}")
print(f"ours: linear probe trained {e['linear_top1']:.4f}, random-init {e['linear_top1_random_init']:.4f}, raw pixels {e['linear_top1_pixels']:.4f}")
PY

# The peer: PyTorch + torchvision, DataLoader with 1 worker, the same budget and thread count.
/usr/bin/python3 ../shared/peers/peer_pytorch_simclr_fmnist.py "$M" "$T" 2>/dev/null | grep -E "kNN|trained" | sed 's/^/peer: /'
echo "(logs in $OUT)"
