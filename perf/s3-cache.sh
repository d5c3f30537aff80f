#!/usr/bin/env bash
# The local shard cache against local disk: paired `contrastive bench --epochs 2` runs over the same shards, read from
# local disk and from s3rver behind a proxy that adds LATENCY_MS to every request, with --cache in a fresh folder each
# round (epoch 0 cold: every shard fetched; epoch 1 from the cache). Prints each round's per-epoch images/s, then the
# medians and the ratios s3/local per epoch.
#
# Usage: bash perf/s3-cache.sh [IMAGES=24000] [SHARD_MB=4] [LATENCY_MS=20] [ROUNDS=5] [STAGE=all] [SIZE=160] [CACHE=on]
#   SIZE: the demo images' width and height in pixels (JPEG q90).
#   CACHE=off: no --cache, both epochs read object storage (ranged reads of each row group); the bytes fetched per run.
# Needs a Release build (dotnet build -c Release src/Host) and s3rver in tests/tools/node_modules (tests/test.sh installs it).
set -euo pipefail
IMAGES=${1:-24000}; SHARD_MB=${2:-4}; LATENCY=${3:-20}; ROUNDS=${4:-5}; STAGE=${5:-all}; SIZE=${6:-160}; CACHE=${7:-on}
root=$(cd "$(dirname "$0")/.." && pwd)
dll=$root/src/Host/bin/Release/net10.0/contrastive.dll
s3rver=$root/tests/tools/node_modules/s3rver/bin/s3rver.js
[ -f "$dll" ] || { echo "build first: dotnet build -c Release src/Host" >&2; exit 2; }
[ -f "$s3rver" ] || { echo "s3rver missing: npm install --prefix tests/tools (tests/test.sh does)" >&2; exit 2; }
work=$(mktemp -d /tmp/s3-cache-XXXX)
cleanup() { kill "${proxy:-}" "${server:-}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

data=$root/data/cache-bench-$IMAGES-$SHARD_MB-$SIZE
if [ ! -f "$data/.complete" ]; then
  rm -rf "$data" "$work/raw"
  dotnet "$dll" demo-data --output "$work/raw" --count "$IMAGES" --width "$SIZE" --height "$SIZE" --quality 90 2>/dev/null
  dotnet "$dll" pack --input "$work/raw" --output "$data" --shard-size-mb "$SHARD_MB" 2>/dev/null
  touch "$data/.complete"
fi
shards=$(ls "$data"/*.parquet | wc -l)
echo "data: $IMAGES images in $shards shards, $(du -sm "$data" | cut -f1) MB ($data)"

port=$((20000 + RANDOM % 20000)); pport=$((port + 1))
node "$s3rver" --directory "$work/s3" --port "$port" --address 127.0.0.1 --silent & server=$!
node "$root/perf/latency-proxy.js" "$pport" "$port" "$LATENCY" & proxy=$!
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
for i in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.2; done
AWS_ENDPOINT_URL_S3=http://127.0.0.1:$port dotnet run -c Release --project "$root/perf" -- s3-upload "$data" s3://bench/cache/ > /dev/null
export AWS_ENDPOINT_URL_S3=http://127.0.0.1:$pport

# `inspect` through the proxy (opens every shard's footer, then reads every sample once in stored order: one pass, no cache): 3 runs, the process's start included.
for i in 1 2 3; do
  t0=$(date +%s.%N); dotnet "$dll" inspect --data s3://bench/cache/ > /dev/null 2>&1; t1=$(date +%s.%N)
  echo "inspect over s3 ($shards shards): $(python3 -c "print(f'{$t1 - $t0:.2f}')") s"
done
t0=$(date +%s.%N); dotnet "$dll" inspect --data "$data" > /dev/null 2>&1; t1=$(date +%s.%N)
echo "inspect of local disk: $(python3 -c "print(f'{$t1 - $t0:.2f}')") s"
epochs() { python3 -c 'import json,sys; r=json.loads(sys.stdin.read().strip().splitlines()[-1]); print(" ".join(str(e["images_per_sec"]) for e in r["epochs"]), r.get("bytes_fetched",0), " ".join(str(e.get("cache_hits","-")) for e in r["epochs"]))'; }
run() { dotnet "$dll" bench --stage "$STAGE" --epochs 2 --workers 2 --batch-size 128 --json "$@" 2>/dev/null | epochs; }
local0=(); local1=(); s30=(); s31=()
for r in $(seq 1 "$ROUNDS"); do
  read -r l0 l1 _ _ _ <<< "$(run --data "$data")"
  if [ "$CACHE" = off ]; then
    read -r c0 c1 fetched _ _ <<< "$(run --data s3://bench/cache/)"
    echo "round $r: local $l0 $l1 | s3 uncached $c0 $c1 images/s; fetched $((fetched / 1000000)) MB in 2 epochs"
  else
    rm -rf "$work/cache"
    read -r c0 c1 fetched h0 h1 <<< "$(run --data s3://bench/cache/ --cache "$work/cache")"
    echo "round $r: local $l0 $l1 | s3 + cache $c0 (cold) $c1 (cached) images/s; fetched $((fetched / 1000000)) MB; cache hits by epoch $h0 $h1"
  fi
  local0+=("$l0"); local1+=("$l1"); s30+=("$c0"); s31+=("$c1")
done
echo "CPU time of the store's side over all rounds (s3rver, the latency proxy): $(ps -o cputime= -p "$server" | tr -d ' '), $(ps -o cputime= -p "$proxy" | tr -d ' ')"
python3 - "${local0[*]}" "${local1[*]}" "${s30[*]}" "${s31[*]}" "$CACHE" <<'PY'
import statistics, sys
l0, l1, c0, c1 = ([float(x) for x in a.split()] for a in sys.argv[1:5])
cold, warm = ("uncached", "uncached") if sys.argv[5] == "off" else ("cold", "from the cache")
m = statistics.median
print(f"epoch 0: local {m(l0):.0f}, s3 {cold} {m(c0):.0f} images/s: {m(c0) / m(l0):.3f}x (local {min(l0):.0f}-{max(l0):.0f}, s3 {min(c0):.0f}-{max(c0):.0f})")
print(f"epoch 1: local {m(l1):.0f}, s3 {warm} {m(c1):.0f} images/s: {m(c1) / m(l1):.3f}x (local {min(l1):.0f}-{max(l1):.0f}, s3 {min(c1):.0f}-{max(c1):.0f})")
PY
