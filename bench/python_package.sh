#!/usr/bin/env bash
# The Python package against the CLI and sentence-transformers, in one run on this machine:
# `mtst bench encode` of the CLI installed with the package (the same libtorch and oneDNN as
# the module), mtst.SentenceEncoder(...).encode (bench/peers/encode_peer.py mtst-python: end
# to end, tokenization included) and SentenceTransformer(...).encode, fp32, real
# all-MiniLM-L6-v2, the benchmark corpus, batch 32, 2 threads; ROUNDS interleaved rounds.
# Prints every run and the ratios of the best runs.
#   bench/python_package.sh [ROUNDS] [SECONDS]   (corpus: data/bench/corpus.txt or
#                                                 $MTST_CORPUS; venv: $MTST_VENV, with the
#                                                 package installed: scripts/install_python.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
seconds=${2:-20}
python=${MTST_VENV:-/opt/mtst/venv}/bin/python
corpus=$(realpath "${MTST_CORPUS:-data/bench/corpus.txt}")
model=$PWD/models/all-MiniLM-L6-v2
cli=$("$python" -c 'import mtst._cli as c; print(c.binary())') ||
  { echo "the mtst package is not installed in $python: run scripts/install_python.sh" >&2; exit 1; }
mkdir -p bench/out
out=$PWD/bench/out/python-$(date +%Y%m%d-%H%M%S).jsonl
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
bench/machine.sh
for round in $(seq "$rounds"); do
  "$cli" bench encode --model "$model" --input "$corpus" --batch-size 32 --threads 2 \
    --seconds "$seconds" | sed "s/\"engine\":\"mtst\"/\"engine\":\"mtst-cli\"/; s/^{/{\"round\":$round,/" |
    tee -a "$out"
  for engine in mtst-python st; do
    (cd bench/peers && "$python" encode_peer.py "$engine" --model "$model" --corpus "$corpus" \
      --batch-size 32 --threads 2 --seconds "$seconds") |
      sed "s/^{/{\"round\":$round,/" | tee -a "$out"
  done
done
"$python" - "$out" <<'PY'
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
best = {}
for r in runs:
    best[r["engine"]] = max(best.get(r["engine"], 0), r["sentences_per_s"])
print("best sentences/s:", json.dumps(best))
print(f"mtst.SentenceEncoder.encode / mtst bench encode: {best['mtst-python'] / best['mtst-cli']:.3f}")
print(f"mtst.SentenceEncoder.encode / SentenceTransformer.encode: {best['mtst-python'] / best['st']:.2f}")
PY
