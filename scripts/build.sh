#!/usr/bin/env bash
# Configures and builds mtst into build/ (binary: build/mtst). Assumes scripts/setup.sh ran.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$(nproc)"
