#!/usr/bin/env bash
# Gradient sums during backward against sums after it, over a slow link: two network
# namespaces joined by a veth pair whose both ends are rate-limited with tc's token bucket
# filter (a stand-in for a network between machines), one rank of `mtst train` on each.
# Alternates the two modes ROUNDS times and prints each run's samples/s per 10-step window
# (from metrics.jsonl) and the medians. The two "hosts" share this machine's cores, so each
# rank runs 1 thread. Needs root (ip netns, tc); removes what it made.
#   scripts/distributed/overlap_bench.sh [CONFIG [RATE [STEPS [ROUNDS]]]]
#   (defaults: configs/minilm.json, 1gbit, 30, 2)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
[ "$(id -u)" -eq 0 ] || { echo "overlap_bench: needs root (ip netns, tc)" >&2; exit 1; }
command -v tc >/dev/null || { echo "overlap_bench: needs iproute2 (ip, tc)" >&2; exit 1; }
[ -x build/mtst ] || { echo "overlap_bench: build/mtst missing: run scripts/build.sh" >&2; exit 1; }
config=$(realpath "${1:-configs/minilm.json}")
rate=${2:-1gbit}
steps=${3:-30}
rounds=${4:-2}
work=$(mktemp -d)
. scripts/distributed/host_pair.sh
cleanup() {
  host_pair_down mtst-b
  rm -rf "$work"
}
trap cleanup EXIT

host_pair_up mtst-b mtst-bveth 10.78.0
for h in 0 1; do
  ip netns exec mtst-b$h tc qdisc add dev mtst-bveth$h root tbf rate "$rate" burst 256kb \
    latency 50ms
done

port=29566
run_mode() {  # MODE OUT: one 2-rank run, MODE "during" or "after"
  local mode=$1 out=$2 flag=""
  [ "$mode" = after ] && flag=--no-grad-overlap
  for h in 0 1; do
    ip netns exec mtst-b$h env GLOO_SOCKET_IFNAME=mtst-bveth$h RANK=$h LOCAL_RANK=0 \
      WORLD_SIZE=2 LOCAL_WORLD_SIZE=1 MASTER_ADDR=10.78.0.1 MASTER_PORT=$port \
      "$root/build/mtst" train --quiet --config "$config" --output "$out" --overwrite \
      --set training.max_steps="$steps" --set training.eval_interval=100000 \
      --set training.threads=1 $flag \
      --dist-timeout 120 >"$work/$mode-$h.log" 2>&1 &
  done
  wait || { tail -n 5 "$work"/*.log >&2; exit 1; }
  tail -n 1 "$work/$mode-0.log"
}

echo "overlap_bench: $(basename "$config"), $steps steps, 2 hosts over veth at $rate"
for round in $(seq 1 "$rounds"); do
  for mode in after during; do
    run_mode $mode "$work/$mode-$round"
  done
done
python3 - "$work" "$rounds" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
for mode in ("after", "during"):
    windows = []
    for r in range(1, rounds + 1):
        lines = [json.loads(l) for l in open(f"{work}/{mode}-{r}/metrics.jsonl")]
        windows += [l["samples_per_s"] for l in lines if l["type"] == "train"]
    print(f"overlap_bench: {mode:6} backward: samples/s per window "
          f"{', '.join(f'{w:.1f}' for w in windows)}; median {statistics.median(windows):.1f}")
PY
