#!/usr/bin/env bash
# Multi-task training throughput on the real all-MiniLM-L6-v2, mtst beside the PyTorch 2.x
# peer (bench/peers/train_peer.py, in the references venv) in one run on this machine: full
# fine-tuning as configs/minilm.json (both bundled tasks, the first 3,000 training sentences
# of each, batch 32 per task, AdamW, clipping, max length 128, dropout on), 2 threads, 10
# timed steps after 3 warm-up, ROUNDS rounds interleaved; fp32, and bf16 where the CPU has
# native bf16. Then the frozen-backbone epoch with and without the embedding cache.
#   bench/train_vs_peer.sh [ROUNDS]   (venv: $MTST_VENV)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
root=$PWD
python=${MTST_VENV:-/opt/mtst/venv}/bin/python
model=$root/models/all-MiniLM-L6-v2
[ -x build/mtst ] || { echo "build/mtst missing: run scripts/build.sh" >&2; exit 1; }
[ -x "$python" ] && [ -f "$model/model.safetensors" ] ||
  { echo "references venv or real model missing: run scripts/setup.sh" >&2; exit 1; }
mkdir -p bench/out
out=$root/bench/out/train-$(date +%Y%m%d-%H%M%S).jsonl
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
precisions=fp32
grep -qwE 'avx512_bf16|amx_bf16' /proc/cpuinfo && precisions="bf16 fp32"

mtst() {
  build/mtst bench train --config configs/minilm.json --train-limit 3000 --steps 10 \
    --warmup 3 --threads 2 "$@"
}
peer() {
  "$python" bench/peers/train_peer.py --model "$model" --data data/sentence_type/train.csv \
    --data data/sentiment/train.csv --limit 3000 --steps 10 --warmup 3 --threads 2 "$@" \
    2>/dev/null
}

bench/machine.sh
for ((r = 1; r <= rounds; r++)); do
  for p in $precisions; do
    mtst --precision "$p" | tee -a "$out"
    peer --precision "$p" | tee -a "$out"
  done
done
# Frozen backbone, one whole epoch: heads on cached embeddings vs the encoder recomputed
# every step. The cache's one-time build is reported separately.
mtst --precision fp32 --set training.freeze=backbone --epochs 1 | tee -a "$out"
mtst --precision fp32 --set training.freeze=backbone --epochs 1 --no-cache | tee -a "$out"
"$python" bench/summarize_train.py "$out"
