#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ (clang 14, ASan + UBSan, no recovery) into build-fuzz/
# and runs each for SECONDS (default 600), two at a time, on its seed corpus (fuzz/corpus/T,
# read only; new inputs go to build-fuzz/corpus/T). Prints one line per target: executions,
# coverage, crashes (their inputs: build-fuzz/crashes/). Exits 1 if any target crashed.
# Usage: scripts/reliability/fuzz.sh [SECONDS] [TARGET...]  (TARGET: a fuzz/T_fuzz.cpp name)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-600}
[ $# -gt 0 ] && shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in fuzz/*_fuzz.cpp; do targets+=("$(basename "$f" _fuzz.cpp)"); done
fi
if ! command -v clang++-14 >/dev/null ||
   ! ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq clang-14 libclang-rt-14-dev libutf8proc-dev \
    nlohmann-json3-dev >/dev/null
fi
out=build-fuzz
mkdir -p "$out/obj" "$out/crashes"
flags=(-std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined
       -fno-sanitize-recover=undefined -Iinclude -Isrc -Ifuzz
       "-DMTST_FIXTURES_DIR=\"$PWD/tests/fixtures\"")
# The parsers the targets reach: tokenizer files and text, CSV, JSON and text inputs (no torch).
sources=(src/text/*.cpp src/io/json_file.cpp src/io/csv.cpp src/io/text_input.cpp)
printf '%s\n' "${sources[@]}" | xargs -P2 -I{} sh -c \
  'clang++-14 "$@" -fsanitize=fuzzer-no-link -c {} -o '"$out"'/obj/$(echo {} | tr / _).o' \
  sh "${flags[@]}"
for t in "${targets[@]}"; do
  clang++-14 "${flags[@]}" -fsanitize=fuzzer "fuzz/${t}_fuzz.cpp" "$out"/obj/*.o -lutf8proc \
    -o "$out/$t"
done
run_one() {
  local t=$1 seconds=$2 out=$3
  mkdir -p "$out/corpus/$t"
  "$out/$t" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 \
    -artifact_prefix="$out/crashes/$t-" "$out/corpus/$t" "fuzz/corpus/$t" >"$out/$t.log" 2>&1 || true
  local execs cov crashes
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t.log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$out/$t.log" | tail -1 | cut -d' ' -f2)
  crashes=$(find "$out/crashes" -name "$t-*" | wc -l)
  printf '%-18s %6ss  executions %12s  coverage %6s  crash inputs %s\n' \
    "$t" "$seconds" "${execs:-?}" "${cov:-?}" "$crashes"
}
export -f run_one
printf '%s\n' "${targets[@]}" | xargs -P2 -I{} bash -c 'run_one "$@"' _ {} "$seconds" "$out"
if [ -n "$(find "$out/crashes" -type f)" ]; then
  echo "crash inputs in $out/crashes/ (each log: $out/TARGET.log)"
  exit 1
fi
