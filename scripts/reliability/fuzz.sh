#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ (clang 14, ASan + UBSan, no recovery, linked against
# Debian's libtorch: scripts/reliability/sanitized_build.sh asan) and runs each for SECONDS
# (default 600), two at a time, on its seed corpus (fuzz/corpus/T, read only; new inputs go to
# build-asan/fuzz/corpus/T). Prints one line per target: executions, coverage, crashes (their
# inputs: build-asan/fuzz/crashes/). Exits 1 if any target crashed.
# Usage: scripts/reliability/fuzz.sh [SECONDS] [TARGET...]  (TARGET: a fuzz/T_fuzz.cpp name)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-600}
[ $# -gt 0 ] && shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in fuzz/*_fuzz.cpp; do targets+=("$(basename "$f" _fuzz.cpp)"); done
fi
build_targets=()
for t in "${targets[@]}"; do
  [ -f "fuzz/${t}_fuzz.cpp" ] || { echo "fuzz: no target '$t' (fuzz/${t}_fuzz.cpp)" >&2; exit 1; }
  build_targets+=("fuzz_$t")
done
dir=$(scripts/reliability/sanitized_build.sh asan "${build_targets[@]}" | tail -1)
source scripts/reliability/sanitizer_env.sh
out=$dir/fuzz
rm -rf "$out/crashes"
mkdir -p "$out/crashes"
run_one() {
  local t=$1 seconds=$2 dir=$3 out=$4
  mkdir -p "$out/corpus/$t"
  # RSS above 2 GiB is a finding. A single allocation is one above 4 GiB: libtorch's zip reader
  # allocates a record's claimed size (up to 4 GiB - 1 in a zip32 header) before it reads,
  # and then writes only the bytes the file holds (docs/reliability.md).
  "$dir/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 \
    -malloc_limit_mb=4096 \
    -artifact_prefix="$out/crashes/$t-" "$out/corpus/$t" "fuzz/corpus/$t" >"$out/$t.log" 2>&1 || true
  local execs cov crashes
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t.log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$out/$t.log" | tail -1 | cut -d' ' -f2)
  crashes=$(find "$out/crashes" -name "$t-*" | wc -l)
  printf '%-18s %6ss  executions %12s  coverage %6s  crash inputs %s\n' \
    "$t" "$seconds" "${execs:-?}" "${cov:-?}" "$crashes"
}
export -f run_one
printf '%s\n' "${targets[@]}" | xargs -P2 -I{} bash -c 'run_one "$@"' _ {} "$seconds" "$dir" "$out"
if [ -n "$(find "$out/crashes" -type f)" ]; then
  echo "crash inputs in $out/crashes/ (each log: $out/TARGET.log)"
  exit 1
fi
