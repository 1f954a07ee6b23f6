#!/usr/bin/env bash
# Encoder throughput, mtst beside its peers in one run on this machine: PyTorch eager
# (fp32, bf16 autocast) and ONNX Runtime (fp32), MiniLM-L6 shape with random weights,
# the benchmark corpus, batch 32, 2 threads. Prints one JSON line per engine and a table.
#   bench/encode_vs_peers.sh [SECONDS]        (peers from ../shared/peers or $MTST_PEERS)
# Needs: build/mtst, python3-torch + python3-numpy (apt), Node.js + npm for ONNX Runtime.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
peers=${MTST_PEERS:-../shared/peers}
corpus=${MTST_CORPUS:-../shared/bench/corpus.txt}
config=data/all-MiniLM-L6-v2/config.json
work=bench/.peer
mkdir -p "$work" bench/out
[ -x build/mtst ] || { echo "build/mtst missing: run scripts/build.sh" >&2; exit 1; }
[ -d "$peers" ] || { echo "peers not found at $peers (set MTST_PEERS)" >&2; exit 1; }
dpkg-query -W python3-torch >/dev/null 2>&1 || apt-get install -y python3-torch python3-numpy
out=bench/out/encode-$(date +%Y%m%d-%H%M%S).jsonl

# The peers read pre-tokenized ids; mtst's tokenizer is HF-identical (tests/tokenizer_test).
build/mtst tokenize --model data/all-MiniLM-L6-v2 --input "$corpus" --max-seq-length 256 \
  > "$work/corpus_ids.jsonl"
if [ ! -f "$work/model.onnx" ]; then
  (cd "$work" && /usr/bin/python3 "$OLDPWD/$peers/export_onnx.py" --config "$OLDPWD/$config" \
    --out model.onnx >/dev/null 2>&1)
fi
if [ ! -d "$work/node_modules/onnxruntime-node" ]; then
  (cd "$work" && npm install --silent onnxruntime-node@1.30.0 --ignore-scripts >/dev/null)
fi

for precision in bf16 fp32; do
  build/mtst bench encode --config "$config" --random-init --input "$corpus" \
    --precision "$precision" --batch-size 32 --threads 2 --seconds "$seconds" | tee -a "$out"
  (cd "$peers" && /usr/bin/python3 torch_encode_bench.py --config "$OLDPWD/$config" \
    --ids "$OLDPWD/$work/corpus_ids.jsonl" --precision "$precision" --batch-size 32 \
    --threads 2 --seconds "$seconds") | tee -a "$out"
done
(cd "$work" && NODE_PATH="$PWD/node_modules" node "$OLDPWD/$peers/ort_encode_bench.js" \
  model.onnx corpus_ids.jsonl 32 2) | tee -a "$out"
echo "results: $out"
