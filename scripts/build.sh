#!/usr/bin/env bash
# Configures and builds mtst. Assumes scripts/setup.sh ran. One variable picks the libtorch:
#   MTST_TORCH=debian (default)  Debian's libtorch-dev (1.13 on Debian 12, 2.6 on Debian 13),
#                                into build/ (binary: build/mtst)
#   MTST_TORCH=venv              the libtorch inside the references venv's PyPI torch wheel
#                                (2.x, CUDA-enabled; scripts/setup_references.sh), into
#                                build-torch2/ (binary: build-torch2/mtst), with PyPI's
#                                oneDNN 3.2 ($MTST_ONEDNN, default /opt/mtst/onednn)
# MTST_BUILD_DIR overrides the directory. `scripts/build.sh --print-dir` prints the directory
# the current settings build into, and builds nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
flavor=${MTST_TORCH:-debian}
if [ "${1:-}" = --print-dir ]; then
  case "$flavor" in
    venv) echo "${MTST_BUILD_DIR:-build-torch2}" ;;
    *) echo "${MTST_BUILD_DIR:-build}" ;;
  esac
  exit 0
fi
case "$flavor" in
  debian)
    dir=${MTST_BUILD_DIR:-build}
    torch_args=()
    ;;
  venv)
    dir=${MTST_BUILD_DIR:-build-torch2}
    python=${MTST_VENV:-/opt/mtst/venv}/bin/python
    [ -x "$python" ] || { echo "build: MTST_TORCH=venv needs the references venv ($python): run scripts/setup.sh" >&2; exit 1; }
    root=$("$python" -c 'import os, torch; print(os.path.dirname(torch.__file__))')
    # The wheel's own configs and libraries, searched before the system's: with Debian's
    # libtorch-dev also installed, TorchConfig's plain find_package(Caffe2)/find_library
    # would otherwise mix the wheel's headers with Debian's 1.13 libraries.
    # oneDNN: PyPI's 3.2 (scripts/setup_references.sh), not the system's 2.6, which breaks
    # inside this libtorch's process (docs/build.md).
    onednn=${MTST_ONEDNN:-/opt/mtst/onednn}
    [ -f "$onednn/include/oneapi/dnnl/dnnl.hpp" ] || { echo "build: MTST_TORCH=venv needs oneDNN 3.2 at $onednn: run scripts/setup.sh" >&2; exit 1; }
    torch_args=(-DTorch_DIR="$root/share/cmake/Torch" -DCaffe2_DIR="$root/share/cmake/Caffe2"
      -DCMAKE_PREFIX_PATH="$root" -DMTST_DNNL_ROOT="$onednn")
    ;;
  *)
    echo "build: MTST_TORCH must be debian or venv (got '$flavor')" >&2
    exit 1
    ;;
esac
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release "${torch_args[@]}"
cmake --build "$dir" -j "$(nproc)"
