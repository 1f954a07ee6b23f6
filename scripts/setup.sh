#!/usr/bin/env bash
# Installs every dependency of mtst (idempotent; needs root or sudo): the build's from Debian 12
# with apt-get, then the references environment (scripts/setup_references.sh: a pinned Python
# venv from PyPI and the real all-MiniLM-L6-v2). The only install step: build, tests,
# quickstart and benchmarks rely on nothing else.
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
  libssl-dev              # HTTPS of mtst serve, base64 embeddings (OpenSSL)
  openssl                 # the tests make self-signed certificates with it
  curl                    # the docs' and bench/serve_load.sh's requests to mtst serve
  libgloo-dev             # Gloo headers for c10d ProcessGroupGloo (distributed training)
  python3-venv            # the references venv (setup_references.sh)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all Debian packages installed"
else
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y "${missing[@]}"
fi
"$(dirname "$0")/setup_references.sh"
