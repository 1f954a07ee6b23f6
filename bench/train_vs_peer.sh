#!/usr/bin/env bash
# Multi-task training throughput, mtst beside the PyTorch peer (../shared/peers/
# torch_train_bench.py) in one run on this machine: MiniLM-L6 shape, random init, both bundled
# tasks (the first 3,000 training sentences of each, as the peer's README), batch 32 per task,
# full fine-tuning, AdamW, 2 threads, 10 timed steps after 3 warm-up; fp32 and bf16, ROUNDS
# rounds interleaved. Then the frozen-backbone epoch with and without the embedding cache.
#   bench/train_vs_peer.sh [ROUNDS]   (peers from ../shared/peers or $MTST_PEERS)
# Needs build/mtst and python3-torch (apt).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
root=$PWD
peers=$(realpath "${MTST_PEERS:-../shared/peers}")
config=$root/configs/bench-minilm.json
work=$root/bench/.peer
mkdir -p "$work" bench/out
[ -x build/mtst ] || { echo "build/mtst missing: run scripts/build.sh" >&2; exit 1; }
[ -f "$peers/torch_train_bench.py" ] || { echo "peers not found at $peers" >&2; exit 1; }
dpkg-query -W python3-torch >/dev/null 2>&1 || apt-get install -y python3-torch python3-numpy
out=$root/bench/out/train-$(date +%Y%m%d-%H%M%S).jsonl

# The peer reads token ids of the same first 3,000 training sentences per task (mtst's
# tokenizer is HF-identical, tests/tokenizer_test).
python3 - "$work" <<'PY'
import csv, json, sys
work = sys.argv[1]
for name, path in [("category", "data/sentence_type/train.csv"), ("sentiment", "data/sentiment/train.csv")]:
    rows = list(csv.DictReader(open(path, encoding="utf-8-sig")))[:3000]
    with open(f"{work}/{name}_3000.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps({"text": r["text"]}) + "\n")
PY
for task in category sentiment; do
  build/mtst tokenize --model data/all-MiniLM-L6-v2 --max-seq-length 256 \
    --input "$work/${task}_3000.jsonl" >"$work/${task}_ids.jsonl"
done

mtst() { build/mtst bench train --config "$config" --train-limit 3000 --steps 10 --warmup 3 "$@"; }
peer() {
  (cd "$peers" && /usr/bin/python3 torch_train_bench.py --config "$root/data/all-MiniLM-L6-v2/config.json" \
    --ids "$work/category_ids.jsonl" --ids "$work/sentiment_ids.jsonl" --batch-size 32 \
    --steps 10 --warmup 3 --threads 2 "$@")
}

for ((r = 1; r <= rounds; r++)); do
  mtst --precision bf16 | tee -a "$out"
  peer --precision bf16 | tee -a "$out"
  mtst --precision fp32 | tee -a "$out"
  peer --precision fp32 | tee -a "$out"
done
# Frozen backbone, one whole epoch (94 steps): heads on cached embeddings vs the encoder
# recomputed every step. The cache's one-time build is reported separately.
mtst --precision fp32 --set training.freeze=backbone --epochs 1 | tee -a "$out"
mtst --precision fp32 --set training.freeze=backbone --epochs 1 --no-cache | tee -a "$out"
python3 bench/summarize_train.py "$out"
