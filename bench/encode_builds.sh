#!/usr/bin/env bash
# mtst's encoder throughput across its builds, in one run on one machine: each LABEL=COMMAND
# (a binary, or a command prefix such as a chroot into a Debian 13 root) runs `bench encode` on
# the real all-MiniLM-L6-v2 and the benchmark corpus, fp32, batch 32, 2 threads; ROUNDS rounds
# interleave the builds (a VM's speed drifts over minutes). Prints each run, the medians and
# each build's ratio to the first. The model and corpus paths must mean the same inside every
# command (bind-mount them into a chroot).
#   bench/encode_builds.sh ROUNDS SECONDS LABEL=COMMAND [LABEL=COMMAND ...]
#   e.g. bench/encode_builds.sh 3 20 debian12=build/mtst torch2=build-torch2/mtst
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 3 ] || { echo "usage: bench/encode_builds.sh ROUNDS SECONDS LABEL=COMMAND..." >&2; exit 2; }
bench/machine.sh
rounds=$1 seconds=$2
shift 2
root=$PWD
corpus=$(realpath "${MTST_CORPUS:-data/bench/corpus.txt}")
model=$root/models/all-MiniLM-L6-v2
[ -f "$model/model.safetensors" ] || { echo "real model missing: run scripts/setup.sh" >&2; exit 1; }
mkdir -p bench/out
out=$root/bench/out/builds-$(date +%Y%m%d-%H%M%S).jsonl
for round in $(seq "$rounds"); do
  for build in "$@"; do
    label=${build%%=*} command=${build#*=}
    $command bench encode --model "$model" --input "$corpus" --batch-size 32 --threads 2 \
      --precision fp32 --seconds "$seconds" |
      python3 -c "import json,sys; r=json.load(sys.stdin); r['build']='$label'; r['round']=$round; print(json.dumps(r))" |
      tee -a "$out"
  done
done
python3 - "$out" <<'PY'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
builds = list(dict.fromkeys(r["build"] for r in runs))
median = {b: statistics.median(r["sentences_per_s"] for r in runs if r["build"] == b) for b in builds}
print(f"\n{'build':<24} {'runs (sentences/s)':<32} {'median':>8} {'vs ' + builds[0]:>12}")
for b in builds:
    each = ", ".join(f"{r['sentences_per_s']:.1f}" for r in runs if r["build"] == b)
    print(f"{b:<24} {each:<32} {median[b]:>8.1f} {median[b] / median[builds[0]]:>11.2f}x")
print(f"\nraw: {sys.argv[1]}")
PY
