#!/usr/bin/env bash
# The test command: installs dependencies, configures, builds (build/mtst), installs the
# Python package into the references venv (scripts/install_python.sh) and runs ctest.
# MTST_TORCH=venv does the same for the build against the PyPI torch wheel (build-torch2/).
# The reference tests (the real model against the Python stack) must run here: a missing
# venv or model fails them instead of skipping, unless MTST_NO_REFERENCES=1 was asked for.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each phase prints how long it took, so a first run on a fresh machine shows where time goes.
phase() {
  local name=$1 start=$SECONDS
  shift
  "$@"
  echo "test.sh: $name took $((SECONDS - start)) s"
}
phase setup scripts/setup.sh
[ "${MTST_NO_REFERENCES:-0}" = 1 ] || export MTST_REQUIRE_REFERENCES=1
phase build scripts/build.sh
# The Python package, into the references venv (its tests are reference tests).
[ "${MTST_NO_REFERENCES:-0}" = 1 ] || phase "python package" scripts/install_python.sh
phase ctest ctest --test-dir "$(scripts/build.sh --print-dir)" --output-on-failure -j "$(nproc)"
