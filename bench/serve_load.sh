#!/usr/bin/env bash
# Load test of `mtst serve` on loopback: a MiniLM-L6-shape multi-task model (random init, one
# training step, so it has heads), 64 closed-loop clients sending single-sentence requests
# from the benchmark corpus, with batching (defaults) and with --max-batch-requests 1,
# interleaved round by round (this VM's speed drifts); one JSON line per run, then a summary
# table (medians, per-round ratios).
#   bench/serve_load.sh [SECONDS] [ENDPOINT] [ROUNDS] [PRECISIONS]
#   defaults: 30 /embed 3 auto   (PRECISIONS: one or a comma list, e.g. fp32,bf16,int8, each
#   served in turn within every round; corpus data/bench/corpus.txt or $MTST_CORPUS;
#   $MTST_SERVE_ARGS: more server options for both modes, e.g. "--threads 1";
#   $MTST_SERVE_AUTH: off (default), on (--api-key, the clients send it) or both (each run
#   twice, without and with the key, to measure what the key check costs))
# The load generator runs on the same cores as the server. Stops by itself: every run is
# bounded by SECONDS.
set -euo pipefail
cd "$(dirname "$0")/.."
bench/machine.sh
seconds=${1:-30}
endpoint=${2:-/embed}
rounds=${3:-3}
precision=${4:-auto}
corpus=$(realpath "${MTST_CORPUS:-data/bench/corpus.txt}")
work=bench/.serve
mkdir -p "$work" bench/out
out=bench/out/serve-$(date +%Y%m%d-%H%M%S).jsonl
if [ ! -f "$work/minilm/final/mtst.json" ]; then
  build/mtst train --quiet --config configs/bench-minilm.json --output "$work/minilm" --overwrite \
    --set training.max_steps=1 --set tasks.category.files.validation=null \
    --set tasks.sentiment.files.validation=null
fi
port=18765
IFS=, read -r -a precisions <<<"$precision"
case "${MTST_SERVE_AUTH:-off}" in
  off) auths=(off) ;;
  on) auths=(on) ;;
  both) auths=(off on) ;;
  *) echo "serve_load: MTST_SERVE_AUTH must be off, on or both" >&2; exit 1 ;;
esac
key=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')  # in the environment only, never in ps
for round in $(seq "$rounds"); do
  for precision in "${precisions[@]}"; do
    for batching in "" "--max-batch-requests 1"; do
      for auth in "${auths[@]}"; do
        [ "$auth" = on ] && export MTST_API_KEY=$key || unset MTST_API_KEY
        # shellcheck disable=SC2086
        build/mtst serve --model "$work/minilm/final" --port $port --auto-truncate \
          --precision "$precision" ${MTST_SERVE_ARGS:-} $batching 2>"$work/server.log" &
        pid=$!
        for _ in $(seq 300); do curl -sf "localhost:$port/health" >/dev/null && break; sleep 0.2; done
        curl -sf "localhost:$port/health" >/dev/null || {
          echo "serve_load: the server was not healthy after 60 s (see $work/server.log)" >&2
          kill -TERM $pid; wait $pid || true; exit 1; }
        build/mtst bench serve --port $port --endpoint "$endpoint" --input "$corpus" --clients 64 \
          --seconds "$seconds" |
          python3 -c "import json,sys; j=json.load(sys.stdin); j.update(round=$round, precision='$precision', server_args='$batching', auth='$auth', extra_args='${MTST_SERVE_ARGS:-}'); print(json.dumps(j))" |
          tee -a "$out"
        kill -TERM $pid
        wait $pid
        ! grep -qF "$key" "$work/server.log" || { echo "serve_load: the key appeared in the server's log" >&2; exit 1; }
      done
    done
  done
done
unset MTST_API_KEY
python3 bench/summarize_serve.py "$out"
