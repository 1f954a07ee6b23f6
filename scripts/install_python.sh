#!/usr/bin/env bash
# Builds the Python package `mtst` from this checkout and installs it into the references venv
# ($MTST_VENV, default /opt/mtst/venv), against that venv's torch. Assumes scripts/setup.sh
# ran. The build directory (build-python/) is kept, so a second run rebuilds only what changed.
# What a user runs instead, in any venv with torch: pip install . (docs/python.md).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${MTST_VENV:-/opt/mtst/venv}/bin/python
[ -x "$python" ] || { echo "install_python: no references venv ($python): run scripts/setup.sh" >&2; exit 1; }
"$python" -m pip install --quiet --no-input --no-build-isolation --no-deps .
echo "install_python: mtst $("$python" -c 'import mtst; print(mtst.__version__)') installed into ${python%/bin/python}"
