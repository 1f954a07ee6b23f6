#!/usr/bin/env bash
# Configures and builds mtst with clang 14 and sanitizers, against Debian's libtorch (which is not
# instrumented: reports come from mtst's own code). Installs clang-14, its sanitizer/libFuzzer
# runtimes and omp.h if missing. libgomp stays the one OpenMP runtime (libtorch's); clang's own
# libomp is never linked.
# Usage: scripts/reliability/sanitized_build.sh MODE [TARGET...]
#   MODE asan: ASan + UBSan (no recovery) + libFuzzer coverage and the fuzz targets, in build-asan/
#   MODE tsan: ThreadSanitizer, in build-tsan/
# Prints the build directory on the last line of stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=${1:?usage: sanitized_build.sh asan|tsan [TARGET...]}
shift
case "$mode" in
  asan) dir=build-asan; args=(-DMTST_SANITIZE=address,undefined -DMTST_FUZZ=ON) ;;
  tsan) dir=build-tsan; args=(-DMTST_SANITIZE=thread) ;;
  *) echo "sanitized_build: MODE must be asan or tsan (got '$mode')" >&2; exit 1 ;;
esac
packages=(clang-14 libclang-rt-14-dev libomp-14-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
libgomp=$(g++ -print-file-name=libgomp.so)
# Test discovery runs the test binary at build time: it needs the runtime options too.
source scripts/reliability/sanitizer_env.sh
CC=clang-14 CXX=clang++-14 cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" "${args[@]}" \
  -DOpenMP_CXX_FLAGS=-fopenmp=libgomp -DOpenMP_CXX_LIB_NAMES=gomp \
  -DOpenMP_gomp_LIBRARY="$libgomp" -DMTST_TEST_TIMEOUT=900 >&2
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$dir" -j "$(nproc)" "${targets[@]}" >&2
echo "$dir"
