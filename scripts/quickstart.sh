#!/usr/bin/env bash
# The main job, offline (no pretrained weights needed): set up, build, train the multi-task
# model (sentence type as "category", and sentiment) from scratch on the bundled data with
# configs/quickstart.json into runs/quickstart/ (checkpoints final/, last/, best-<task>/,
# TensorBoard logs, metrics.jsonl), evaluate it on both test splits, and print its
# predictions for data/sentences.txt in the seed's layout.
#   CONFIG=configs/minilm.json scripts/quickstart.sh   fine-tunes a downloaded
#   all-MiniLM-L6-v2 instead (see README: "Getting a real model").
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
config=${CONFIG:-configs/quickstart.json}
out=runs/quickstart
echo "== training $config -> $out"
build/mtst train --config "$config" --output "$out" --overwrite
echo "== test splits"
build/mtst evaluate --model "$out/final" --split test --output "$out/test_metrics.json"
echo "== predictions for data/sentences.txt (also in $out/predictions.txt)"
build/mtst predict --model "$out/final" --input data/sentences.txt | tee "$out/predictions.txt"
echo "== done: model $out/final, logs: tensorboard --logdir $out/tensorboard"
