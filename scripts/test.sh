#!/usr/bin/env bash
# The test command: installs dependencies, configures, builds (build/mtst) and runs ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"
