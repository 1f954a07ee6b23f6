#!/usr/bin/env bash
# Fails when an object built for one vector ISA (-mavx2, -mavx512*) defines a weak symbol, such
# as an out-of-line instance of a standard template: the linker keeps one copy of each for the
# whole program, and a copy with AVX2 or AVX-512 instructions must not be the one a CPU
# without them runs. ctest runs it as build.isa_objects on the per-ISA objects.
#   scripts/check_isa_objects.sh OBJECT...
set -euo pipefail
[ $# -gt 0 ] || { echo "check_isa_objects: give the objects to check" >&2; exit 2; }
weak=$(nm -C --defined-only "$@" | grep -E ' [WV] ' | grep -v 'DW.ref.__gxx_personality_v0' || true)
if [ -n "$weak" ]; then
  echo "check_isa_objects: weak symbols in per-ISA objects:" >&2
  echo "$weak" >&2
  exit 1
fi
echo "check_isa_objects: $# objects, no weak symbols"
