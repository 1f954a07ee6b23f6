#!/usr/bin/env bash
# Prints the machine label line that docs/benchmarks.md files numbers under: the label (CPU
# vendor and the highest instruction set that matters to mtst's kernels), the CPU model, the
# flags that matter, cores, OS, date and commit. Every bench/*.sh script prints it first.
#   bench/machine.sh        e.g. "machine: intel-amx | Intel(R) Xeon(R) Processor (family 6) | avx2 ..."
set -euo pipefail
cd "$(dirname "$0")/.."
flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
has() { [[ $flags == *" $1 "* ]]; }
case $(grep -m1 '^vendor_id' /proc/cpuinfo | awk '{print $3}') in
  GenuineIntel) vendor=intel ;;
  AuthenticAMD) vendor=amd ;;
  *) vendor=cpu ;;
esac
family=$(grep -m1 '^cpu family' /proc/cpuinfo | awk '{print $4}')
# AMD names every EPYC alike in /proc/cpuinfo; the family tells Zen 4 (25, AVX-512 on 256-bit
# units, no AVX-VNNI) from Zen 5 (26), whose speeds differ by about 2x on mtst's kernels.
if has amx_int8; then isa=amx
elif [ "$vendor" = amd ] && [ "$family" = 25 ] && has avx512f; then isa=zen4
elif has avx512_bf16; then isa=avx512-bf16
elif has avx512f; then isa=avx512
elif has avx2; then isa=avx2
else isa=baseline
fi
wanted="avx2 avx512f avx512_vnni avx_vnni avx512_bf16 amx_bf16 amx_int8"
present=""
for f in $wanted; do has "$f" && present+="$f "; done
model=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
os=$(. /etc/os-release && echo "${NAME% GNU/Linux} ${VERSION_ID:-}")
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
echo "machine: $vendor-$isa | $model (family $family) | ${present% } | $(nproc) cores | $os | $(date -u +%F) | commit $commit"
