#!/usr/bin/env bash
# Two "hosts" on this machine: network namespaces mtst-h0 (10.77.0.1) and mtst-h1 (10.77.0.2)
# joined by a veth pair, each running one rank of `mtst train` with its own address, the
# rendezvous over TCP to rank 0's address as between machines (GLOO_SOCKET_IFNAME names each
# side's interface). Launched by torchrun (--nnodes 2) when the references venv has it, else by
# the same environment torchrun sets. The 2-host run must match a 1-process run of the same
# config within 1e-5 on every logged loss. Needs root (ip netns); removes what it made.
#   scripts/distributed/two_hosts.sh [CONFIG]   (default: the tiny test model, 40 steps)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
[ "$(id -u)" -eq 0 ] || { echo "two_hosts: needs root (ip netns)" >&2; exit 1; }
command -v ip >/dev/null || { echo "two_hosts: needs iproute2 (ip)" >&2; exit 1; }
[ -x build/mtst ] || { echo "two_hosts: build/mtst missing: run scripts/build.sh" >&2; exit 1; }
work=$(mktemp -d)
. scripts/distributed/host_pair.sh
cleanup() {
  host_pair_down mtst-h
  rm -rf "$work"
}
trap cleanup EXIT

config=${1:-}
if [ -z "$config" ]; then
  f=$root/tests/fixtures
  config=$work/config.json
  cat >"$config" <<JSON
{"backbone": {"model": "$f/tiny-bert-train", "max_seq_length": 32},
 "tasks": [
  {"name": "category", "labels": ["declarative", "imperative", "question"],
   "files": {"train": "$f/train-data/category_train.csv",
             "validation": "$f/train-data/category_validation.csv"},
   "head": {"hidden_size": 16, "dropout": 0.0}},
  {"name": "sentiment", "labels": ["negative", "neutral", "positive"],
   "files": {"train": "$f/train-data/sentiment_train.csv",
             "validation": "$f/train-data/sentiment_validation.csv"},
   "head": {"hidden_size": 16, "dropout": 0.0}}],
 "optimizer": {"lr_backbone": 1e-3, "lr_heads": 3e-3},
 "training": {"batch_size": 8, "max_steps": 40, "eval_interval": 10, "seed": 7, "threads": 1}}
JSON
fi

host_pair_up mtst-h mtst-veth 10.77.0
ip -n mtst-h1 route get 10.77.0.1 >/dev/null || { echo "two_hosts: no route between the hosts" >&2; exit 1; }

torchrun=${MTST_VENV:-/opt/mtst/venv}/bin/torchrun
port=29555
rank_on_host() {  # HOST: runs rank HOST of 2, its run directory under $work/hostHOST
  local h=$1 out=$work/host$1/run
  mkdir -p "$work/host$h"
  if [ -x "$torchrun" ]; then
    ip netns exec mtst-h$h env GLOO_SOCKET_IFNAME=mtst-veth$h "$torchrun" --nnodes 2 \
      --node-rank "$h" --nproc-per-node 1 --master-addr 10.77.0.1 --master-port $port \
      --no-python "$root/build/mtst" train --quiet --config "$config" --output "$out" \
      --dist-timeout 60
  else
    ip netns exec mtst-h$h env GLOO_SOCKET_IFNAME=mtst-veth$h RANK=$h LOCAL_RANK=0 \
      WORLD_SIZE=2 LOCAL_WORLD_SIZE=1 MASTER_ADDR=10.77.0.1 MASTER_PORT=$port \
      "$root/build/mtst" train --quiet --config "$config" --output "$out" --dist-timeout 60
  fi
}
launcher=env
[ -x "$torchrun" ] && launcher="torchrun (torch $("$(dirname "$torchrun")/python" -c "import torch; print(torch.__version__)"))"
echo "two_hosts: 2 ranks on 10.77.0.1 and 10.77.0.2 (veth), launched by $launcher"
start=$(date +%s%N)
rank_on_host 0 >"$work/host0.log" 2>&1 &
pid0=$!
rank_on_host 1 >"$work/host1.log" 2>&1 &
pid1=$!
status=0
wait $pid0 || status=1
wait $pid1 || status=1
end=$(date +%s%N)
if [ $status -ne 0 ]; then
  echo "two_hosts: a rank failed" >&2
  tail -n 20 "$work"/host*.log >&2
  exit 1
fi
echo "two_hosts: 2-host run $(( (end - start) / 1000000 )) ms"
build/mtst train --quiet --config "$config" --output "$work/one" 2>/dev/null
[ ! -e "$work/host1/run/metrics.jsonl" ] || { echo "two_hosts: rank 1 wrote a run" >&2; exit 1; }
python3 - "$work/one/metrics.jsonl" "$work/host0/run/metrics.jsonl" <<'PY'
import json, sys
one, two = ([json.loads(l) for l in open(p)] for p in sys.argv[1:3])
assert len(one) == len(two) and one, (len(one), len(two))
worst = 0.0
for a, b in zip(one, two):
    key = "loss" if a["type"] == "train" else "combined_loss"
    assert a["step"] == b["step"] and a["type"] == b["type"]
    worst = max(worst, abs(a[key] - b[key]))
print(f"two_hosts: {len(one)} logged losses, max |1 process - 2 hosts| = {worst:.2e}")
sys.exit(0 if worst <= 1e-5 else 1)
PY
