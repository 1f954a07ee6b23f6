#!/usr/bin/env bash
# Load test of `mtst serve` on loopback: a MiniLM-L6-shape multi-task model (random init, one
# training step, so it has heads), 64 closed-loop clients sending single-sentence requests
# from the benchmark corpus for 30 s, once with batching (defaults) and once with
# --max-batch-requests 1; prints one JSON line each (req/s, statuses, p50/p90/p99).
#   bench/serve_load.sh [SECONDS] [ENDPOINT]   (corpus ../shared/bench/corpus.txt or $MTST_CORPUS)
# The load generator runs on the same 2 cores as the server.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
endpoint=${2:-/embed}
corpus=$(realpath "${MTST_CORPUS:-../shared/bench/corpus.txt}")
work=bench/.serve
mkdir -p "$work" bench/out
out=bench/out/serve-$(date +%Y%m%d-%H%M%S).jsonl
if [ ! -f "$work/minilm/final/mtst.json" ]; then
  build/mtst train --quiet --config configs/bench-minilm.json --output "$work/minilm" --overwrite \
    --set training.max_steps=1 --set tasks.category.files.validation=null \
    --set tasks.sentiment.files.validation=null
fi
port=18765
for batching in "" "--max-batch-requests 1"; do
  # shellcheck disable=SC2086
  build/mtst serve --model "$work/minilm/final" --port $port --auto-truncate $batching 2>"$work/server.log" &
  pid=$!
  for _ in $(seq 100); do curl -sf "localhost:$port/health" >/dev/null && break; sleep 0.2; done
  build/mtst bench serve --port $port --endpoint "$endpoint" --input "$corpus" --clients 64 \
    --seconds "$seconds" | python3 -c "import json,sys; j=json.load(sys.stdin); j['server_args']='$batching'; print(json.dumps(j))" | tee -a "$out"
  kill -TERM $pid
  wait $pid
done
