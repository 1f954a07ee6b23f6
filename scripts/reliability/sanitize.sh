#!/usr/bin/env bash
# The test suite under sanitizers (scripts/reliability/sanitized_build.sh builds it):
#   asan  every ctest test (the GoogleTest suite and, where the references venv and the real
#         model are installed, the reference tests, which drive the instrumented mtst binary)
#         under ASan + UBSan + LeakSanitizer
#   tsan  the tests of the threaded code (HTTP server, batching queue, batch workers, the
#         tokenizer/encoder pipeline) under ThreadSanitizer
# Reports from every process (the tests and each mtst they start) go to build-*/reports/; any
# report, or any failed test, fails the run. Extra arguments go to ctest (e.g. -R Tokenizer).
# Usage: scripts/reliability/sanitize.sh asan|tsan [CTEST_ARG...]
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=${1:?usage: sanitize.sh asan|tsan [CTEST_ARG...]}
shift
case "$mode" in
  asan) filter=() ;;
  tsan) filter=(-R '^(BatchWorkers|EncoderParallel|EncoderServer|Server(NotReady|Startup|Load|Predict))\.|^EncoderGoldens\.Pipelined') ;;
  *) echo "sanitize: MODE must be asan or tsan (got '$mode')" >&2; exit 1 ;;
esac
dir=$(scripts/reliability/sanitized_build.sh "$mode" mtst mtst_tests | tail -1)
source scripts/reliability/sanitizer_env.sh
reports=$PWD/$dir/reports
rm -rf "$reports"
mkdir -p "$reports"
export ASAN_OPTIONS="$ASAN_OPTIONS:log_path=$reports/asan"
export UBSAN_OPTIONS="$UBSAN_OPTIONS:log_path=$reports/ubsan"
export TSAN_OPTIONS="$TSAN_OPTIONS:log_path=$reports/tsan"
status=0
ctest --test-dir "$dir" -j "$(nproc)" --output-on-failure "${filter[@]}" "$@" || status=$?
# A report names its kind (ERROR: AddressSanitizer/LeakSanitizer, runtime error, WARNING:
# ThreadSanitizer). Other lines in these logs are notes, e.g. LeakSanitizer's "Unable to get
# registers from thread" when a process's threads exit while it checks for leaks.
found=$(grep -l -E "ERROR: |runtime error|WARNING: ThreadSanitizer" "$reports"/* 2>/dev/null || true)
if [ -n "$found" ]; then
  echo "sanitize: $(echo "$found" | wc -l) sanitizer report(s) in $reports:"
  for f in $found; do echo "== $f"; head -40 "$f"; done
  exit 1
fi
for f in "$reports"/*; do
  [ -f "$f" ] && echo "sanitize: note (not a report) in $f: $(head -1 "$f")"
done
[ "$status" -eq 0 ] && echo "sanitize $mode: all tests passed, no sanitizer reports"
exit "$status"
