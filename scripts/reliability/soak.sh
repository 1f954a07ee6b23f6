#!/usr/bin/env bash
# Soak and abuse test of `mtst serve` on loopback (uses build/mtst; scripts/build.sh first):
#  1. SECONDS (default 600) at saturation: `mtst bench serve` with 64 closed-loop clients on
#     /embed, plus one client sending requests of every shape (abuse_client.py mixed); the
#     server's RSS and thread count sampled every 5 s into build/soak/rss.csv
#  2. 1,000 idle connections held 30 s, then 200 slow clients (one byte per 0.5 s) for 30 s,
#     each while a normal client keeps asking /embed
#  3. SIGTERM during load: the server must exit 0 within 30 s, answering what it accepted
# The model: the real all-MiniLM-L6-v2 (models/) when installed, else the tiny fixture. Prints
# the RSS curve (start after warm-up, peak, end; MiB) and each phase's JSON line; exits 1 if any
# phase failed or the RSS of the last half exceeds the first half's peak by more than 10 %.
# Usage: scripts/reliability/soak.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-600}
mtst=build/mtst
model=models/all-MiniLM-L6-v2
[ -f "$model/config.json" ] || model=tests/fixtures/tiny-bert-st
corpus=${MTST_CORPUS:-data/bench/corpus.txt}
[ -f "$corpus" ] || corpus=tests/fixtures/train-data/sentiment.csv
out=build/soak
mkdir -p "$out"
port=$((20000 + RANDOM % 20000))
failed=0

"$mtst" serve --model "$model" --port "$port" --auto-truncate 2>"$out/server.log" &
server=$!
trap 'kill -9 $server 2>/dev/null || true' EXIT
for _ in $(seq 300); do curl -sf "localhost:$port/health" >/dev/null && break; sleep 0.2; done

sample_rss() {
  echo "seconds,rss_kib,threads" >"$out/rss.csv"
  local start=$SECONDS
  while kill -0 "$server" 2>/dev/null; do
    awk -v t=$((SECONDS - start)) '/^VmRSS/{r=$2} /^Threads/{n=$2} END{print t "," r "," n}' \
      "/proc/$server/status" >>"$out/rss.csv" 2>/dev/null || break
    sleep 5
  done
}
sample_rss &
sampler=$!

echo "soak: $seconds s at saturation on $model (port $port)"
"$mtst" bench serve --port "$port" --endpoint /embed --input "$corpus" --clients 64 \
  --seconds "$seconds" >"$out/load.json" &
load=$!
python3 scripts/reliability/abuse_client.py mixed "$port" "$seconds" >"$out/mixed.json" || failed=1
wait $load || failed=1
cat "$out/load.json" "$out/mixed.json"
python3 scripts/reliability/abuse_client.py idle "$port" 1000 30 | tee "$out/idle.json" || failed=1
python3 scripts/reliability/abuse_client.py slow "$port" 200 30 | tee "$out/slow.json" || failed=1

"$mtst" bench serve --port "$port" --endpoint /embed --input "$corpus" --clients 32 \
  --seconds 10 >"$out/drain.json" &
drain=$!
sleep 5
start=$SECONDS
kill -TERM "$server"
code=0
timeout 30 tail --pid="$server" -f /dev/null || code=124
wait "$server" || code=$?
trap - EXIT
wait $drain || true
echo "{\"phase\": \"sigterm\", \"exit\": $code, \"seconds\": $((SECONDS - start))}"
[ "$code" -eq 0 ] || failed=1
kill $sampler 2>/dev/null || true

python3 - "$out/rss.csv" "$seconds" <<'PY' || failed=1
import csv, sys
rows = [(int(r["seconds"]), int(r["rss_kib"]) / 1024, int(r["threads"]))
        for r in csv.DictReader(open(sys.argv[1]))]
soak = [r for r in rows if r[0] <= float(sys.argv[2])]
warm = [r for r in soak if r[0] >= 30] or soak
half = len(warm) // 2
first_peak = max(r[1] for r in warm[:half])
last_peak = max(r[1] for r in warm[half:])
print(f"rss MiB: start {warm[0][1]:.0f} (t={warm[0][0]}s), peak {max(r[1] for r in rows):.0f}, "
      f"end of soak {soak[-1][1]:.0f}, after all phases {rows[-1][1]:.0f}; "
      f"peak of 1st half {first_peak:.0f}, of 2nd half {last_peak:.0f}; threads max {max(r[2] for r in rows)}")
for t, rss, n in rows[:: max(1, len(rows) // 20)]:
    print(f"  t={t:4d}s  rss={rss:7.1f} MiB  threads={n}")
sys.exit(0 if last_peak <= 1.10 * first_peak else 1)
PY
exit $failed
