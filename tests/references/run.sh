#!/usr/bin/env bash
# Runs one reference test file (pytest, in the references venv) against the built mtst.
# ctest calls it with the file name; the environment (set by CMake) names the binary, the
# venv and the real model. Without the venv or the model it exits 77, which ctest reports as
# skipped, never as passed; with MTST_REQUIRE_REFERENCES=1 (scripts/test.sh) that is a failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
python=${MTST_VENV:?}/bin/python
missing=""
[ -x "$python" ] || missing="the references venv ($MTST_VENV; scripts/setup_references.sh installs it)"
[ -n "$missing" ] || [ -f "${MTST_MODEL_DIR:?}/model.safetensors" ] ||
  missing="the real model ($MTST_MODEL_DIR; scripts/setup_references.sh places it)"
if [ -z "$missing" ] && [[ "$1" == test_python_* ]] && ! "$python" -c 'import mtst' 2>/dev/null; then
  missing="the mtst Python package in $MTST_VENV (scripts/install_python.sh installs it)"
fi
if [ -n "$missing" ]; then
  echo "reference test $1: missing $missing"
  [ "${MTST_REQUIRE_REFERENCES:-0}" = 1 ] && exit 1
  exit 77
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
export PYTHONDONTWRITEBYTECODE=1
exec "$python" -m pytest -q -p no:cacheprovider -s -rA "$here/$1"
