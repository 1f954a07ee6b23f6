#!/usr/bin/env bash
# Encoder throughput on the real all-MiniLM-L6-v2, mtst beside today's Python stack in one
# run on this machine: sentence-transformers encode, PyTorch eager (SDPA), ONNX Runtime fp32
# and dynamic per-tensor int8 (bench/peers/encode_peer.py, in the references venv), and
# sentence-transformers' backends (bench/peers/st_backend_peer.py): OpenVINO as a user gets
# it ("default": bf16 arithmetic on CPUs with avx512_bf16 or AMX), in fp32 (precision hint
# f32) and its static int8 export, in the venv at $MTST_OV_VENV (default /opt/mtst/ov-venv: `python3 -m venv
# /opt/mtst/ov-venv && /opt/mtst/ov-venv/bin/pip install "optimum-intel[openvino]" nncf datasets
# sentence-transformers`), and ONNX Runtime per-channel int8 from ST's
# export_dynamic_quantized_onnx_model, in the venv at $MTST_ORT_VENV (default
# /opt/mtst/ort-venv: `... pip install "sentence-transformers[onnx]==5.7.0"`: unpinned, pip's resolver backtracks for over 20 minutes); each skipped when its
# venv is absent. mtst
# runs fp32, bf16 (where the CPU has it), int8, and fp32/int8 again with the ISA capped at AVX2
# ("mtst-avx2": the path of AVX2-only CPUs). The benchmark corpus, batch 32, 2 threads. ROUNDS
# rounds interleave the engines (a VM's speed drifts over minutes); the table shows every run,
# medians and mtst's ratios; the quality lines give each int8 engine's cosine to fp32.
#   bench/encode_vs_peers.sh [ROUNDS] [SECONDS]   (corpus: data/bench/corpus.txt or
#                                                  $MTST_CORPUS; venv: $MTST_VENV)
# bf16 runs only where the CPU has native bf16 (avx512_bf16 / amx_bf16): elsewhere mtst
# refuses it and PyTorch's bf16 falls back to slow generic kernels.
# MTST_BENCH_ISA=avx2 runs every engine, mtst and peers alike, on an AVX2 view of this CPU:
# bench/cpuid/cpu_view.c hides the features above AVX2 from CPUID (needs the cpuid_fault
# flag), and GLIBC_TUNABLES does the same for glibc's string functions; the capped mtst runs
# are then the plain ones, and bf16 is left out. MTST_BENCH_ISA=avx512_core does the same
# with a Skylake-class view: AVX-512 without VNNI, bf16 or AMX.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
seconds=${2:-20}
root=$PWD
python=${MTST_VENV:-/opt/mtst/venv}/bin/python
ov_python=${MTST_OV_VENV:-/opt/mtst/ov-venv}/bin/python
ort_python=${MTST_ORT_VENV:-/opt/mtst/ort-venv}/bin/python
corpus=$(realpath "${MTST_CORPUS:-data/bench/corpus.txt}")
model=$root/models/all-MiniLM-L6-v2
[ -x build/mtst ] || { echo "build/mtst missing: run scripts/build.sh" >&2; exit 1; }
[ -x "$python" ] && [ -f "$model/model.safetensors" ] ||
  { echo "references venv or real model missing: run scripts/setup.sh" >&2; exit 1; }
mkdir -p bench/out bench/.peer
out=$root/bench/out/encode-$(date +%Y%m%d-%H%M%S).jsonl
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
bf16=fp32
grep -qwE 'avx512_bf16|amx_bf16' /proc/cpuinfo && bf16=bf16
capped=yes
case "${MTST_BENCH_ISA:-}" in
  "") ;;
  avx2 | avx512_core)
    grep -qw cpuid_fault /proc/cpuinfo || {
      echo "MTST_BENCH_ISA=$MTST_BENCH_ISA needs CPUID faulting (cpuid_fault in /proc/cpuinfo)" >&2
      exit 1
    }
    view_flags=() hidden=-AVX512F,-AVX512DQ,-AVX512BW,-AVX512VL,-AVX512CD,
    if [ "$MTST_BENCH_ISA" = avx512_core ]; then
      grep -qw avx512bw /proc/cpuinfo ||
        { echo "MTST_BENCH_ISA=avx512_core needs a CPU with AVX-512 (avx512bw)" >&2; exit 1; }
      view_flags=(-DMTST_VIEW_AVX512_CORE) hidden=
    fi
    cc -O2 -shared -fPIC "${view_flags[@]}" -o "bench/.peer/${MTST_BENCH_ISA}_view.so" \
      bench/cpuid/cpu_view.c
    export LD_AUDIT=$root/bench/.peer/${MTST_BENCH_ISA}_view.so
    export GLIBC_TUNABLES=glibc.cpu.hwcaps=${hidden}-AVX512_VNNI,-AVX512_BF16,-AVX512_FP16,-AVX_VNNI
    echo "every engine sees an $MTST_BENCH_ISA view of this CPU (bench/cpuid/cpu_view.c)"
    bf16=fp32
    capped=no
    ;;
  *)
    echo "MTST_BENCH_ISA must be avx2 or avx512_core, not '$MTST_BENCH_ISA'" >&2
    exit 2
    ;;
esac

mtst() {
  build/mtst bench encode --model "$model" --input "$corpus" --batch-size 32 --threads 2 \
    --seconds "${secs:-$seconds}" "$@"
}
peer() {
  "$python" bench/peers/encode_peer.py "$1" --model "$model" --corpus "$corpus" \
    --batch-size 32 --threads 2 --seconds "$seconds" --work bench/.peer "${@:2}" 2>/dev/null
}

mtst_avx2() {
  ONEDNN_MAX_CPU_ISA=AVX2 DNNL_MAX_CPU_ISA=AVX2 mtst "$@" | sed 's/"engine":"mtst"/"engine":"mtst-avx2"/'
}
st_backend() {  # PYTHON BACKEND ARGS...
  [ -x "$1" ] || return 0
  (cd bench/peers && "$1" st_backend_peer.py --backend "$2" --model "$model" --corpus "$corpus" \
    --batch-size 32 --threads 2 --seconds "$seconds" --work "$root/bench/.peer" "${@:3}" \
    2>/dev/null | grep '^{')  # NNCF draws progress bars on stdout
}
openvino() { st_backend "$ov_python" openvino "$@"; }
onnx_st() { st_backend "$ort_python" onnx "$@"; }
bench/machine.sh
echo "bf16 rounds: $bf16"
for ((r = 1; r <= rounds; r++)); do
  mtst --precision int8 | tee -a "$out"
  openvino --precision int8 | tee -a "$out"
  mtst --precision fp32 | tee -a "$out"
  openvino --precision fp32 | tee -a "$out"
  openvino --precision default | tee -a "$out"
  if [ "$capped" = yes ]; then
    mtst_avx2 --precision int8 | tee -a "$out"
    mtst_avx2 --precision fp32 | tee -a "$out"
  fi
  peer ort --precision fp32 | tee -a "$out"
  peer ort --precision int8 | tee -a "$out"
  onnx_st --precision int8 | tee -a "$out"
  peer torch --precision fp32 | tee -a "$out"
  peer st --precision fp32 | tee -a "$out"
  if [ "$bf16" = bf16 ]; then
    mtst --precision bf16 | tee -a "$out"
    peer torch --precision bf16 | tee -a "$out"
    peer st --precision bf16 | tee -a "$out"
  fi
done
# Quality: no timing (SECS=0), every embedding compared.
if [ "$bf16" = bf16 ]; then secs=0 mtst --precision bf16 --compare-fp32 | tee -a "$out"; fi
secs=0 mtst --precision int8 --compare-fp32 | tee -a "$out"
if [ "$capped" = yes ]; then secs=0 mtst_avx2 --precision int8 --compare-fp32 | tee -a "$out"; fi
openvino --precision int8 --seconds 0 --quality 8137 | tee -a "$out"
openvino --precision default --seconds 0 --quality 8137 | tee -a "$out"
onnx_st --precision int8 --seconds 0 --quality 8137 | tee -a "$out"
peer ort --precision int8 --seconds 0 --quality 8137 | tee -a "$out"
"$python" bench/summarize_encode.py "$out"
