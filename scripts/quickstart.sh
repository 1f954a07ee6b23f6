#!/usr/bin/env bash
# The main job, offline: set up, build, then encode data/sentences.txt into
# runs/quickstart/embeddings.npy and show the tokens and first embedding values.
# Uses $MTST_MODEL (e.g. a downloaded all-MiniLM-L6-v2 directory) when set, else the bundled
# tiny test checkpoint (random weights: it shows the pipeline, not meaningful vectors).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
model=${MTST_MODEL:-tests/fixtures/tiny-bert-st-v2format}
out=runs/quickstart
mkdir -p "$out"
echo "== model: $model"
echo "== tokens of the first sentence:"
head -n 1 data/sentences.txt | build/mtst tokenize --model "$model"
build/mtst encode --model "$model" --input data/sentences.txt --output "$out/embeddings.npy"
build/mtst encode --model "$model" --input data/sentences.txt --output "$out/embeddings.jsonl"
echo "== $(wc -l < data/sentences.txt) sentences encoded: $out/embeddings.npy, $out/embeddings.jsonl"
echo "== the first sentence's embedding (start):"
head -n 1 "$out/embeddings.jsonl" | cut -c1-120
