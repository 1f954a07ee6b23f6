#!/usr/bin/env bash
# Installs every dependency of mtst from Debian 12 with apt-get (idempotent; needs root or sudo).
# The only install step: build, tests, quickstart and benchmarks rely on nothing else.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libtorch-dev            # libtorch 1.13 (CPU)
  libopenblas0-pthread    # fast fp32 BLAS for libtorch (the reference BLAS is ~40x slower)
  libdnnl-dev             # oneDNN headers: fused bf16/fp32 GEMMs (libtorch links the same lib)
  nlohmann-json3-dev      # JSON
  libutf8proc-dev         # Unicode normalization and categories for the tokenizer
  libcli11-dev            # command-line parsing
  libgtest-dev            # tests
  libboost-dev            # Boost.CRC (CRC32C of TensorBoard records)
  libcpp-httplib-dev      # HTTP server (mtst serve) and the test/load-test client
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all dependencies installed"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y "${missing[@]}"
