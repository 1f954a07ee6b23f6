#!/usr/bin/env bash
# Encoder throughput, mtst beside its peers in one run on this machine: PyTorch eager
# (bf16 autocast, fp32) and ONNX Runtime (fp32); MiniLM-L6 shape (data/all-MiniLM-L6-v2,
# random weights), the benchmark corpus, batch 32, 2 threads. ROUNDS rounds interleave the
# engines (this VM's speed drifts by +-20% over minutes); the table shows medians and ratios.
#   bench/encode_vs_peers.sh [ROUNDS]   (peers from ../shared/peers or $MTST_PEERS,
#                                        corpus ../shared/bench/corpus.txt or $MTST_CORPUS)
# Needs build/mtst, python3-torch + python3-numpy (apt), Node.js + npm (ONNX Runtime).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
root=$PWD
peers=$(realpath "${MTST_PEERS:-../shared/peers}")
corpus=$(realpath "${MTST_CORPUS:-../shared/bench/corpus.txt}")
config=$root/data/all-MiniLM-L6-v2/config.json
work=$root/bench/.peer
mkdir -p "$work" bench/out
[ -x build/mtst ] || { echo "build/mtst missing: run scripts/build.sh" >&2; exit 1; }
[ -f "$peers/torch_encode_bench.py" ] || { echo "peers not found at $peers" >&2; exit 1; }
dpkg-query -W python3-torch >/dev/null 2>&1 || apt-get install -y python3-torch python3-numpy
out=$root/bench/out/encode-$(date +%Y%m%d-%H%M%S).jsonl

# The peers read pre-tokenized ids; mtst's tokenizer is HF-identical (tests/tokenizer_test).
build/mtst tokenize --model data/all-MiniLM-L6-v2 --input "$corpus" --max-seq-length 256 \
  >"$work/corpus_ids.jsonl"
if [ ! -f "$work/model.onnx" ]; then
  (cd "$peers" && /usr/bin/python3 export_onnx.py --config "$config" --out "$work/model.onnx") \
    >/dev/null 2>&1
fi
if [ ! -d "$work/node_modules/onnxruntime-node" ]; then
  (cd "$work" && npm install --silent --no-save onnxruntime-node@1.30.0 --ignore-scripts)
fi

mtst() {
  build/mtst bench encode --config "$config" --random-init --input "$corpus" --batch-size 32 \
    --threads 2 --seconds 0 "$@"
}
torch_peer() {
  (cd "$peers" && /usr/bin/python3 torch_encode_bench.py --config "$config" \
    --ids "$work/corpus_ids.jsonl" --batch-size 32 --threads 2 --seconds 0 "$@")
}
ort_peer() {
  (cd "$work" && NODE_PATH="$work/node_modules" node "$peers/ort_encode_bench.js" model.onnx \
    corpus_ids.jsonl 32 2)
}

for ((r = 1; r <= rounds; r++)); do
  mtst --precision bf16 | tee -a "$out"
  torch_peer --precision bf16 | tee -a "$out"
  mtst --precision fp32 | tee -a "$out"
  ort_peer | tee -a "$out"
done
# PyTorch fp32 goes through OpenBLAS and takes minutes per pass: one run.
torch_peer --precision fp32 | tee -a "$out"
mtst --precision bf16 --compare-fp32 | tee -a "$out"
python3 bench/summarize_encode.py "$out"
